using System.Runtime.InteropServices;

namespace Astmt.Engine.Cuda.Native;

/// <summary>The CUDA driver API calls the backend uses (CUresult is returned as int; 0 is CUDA_SUCCESS).</summary>
internal static unsafe partial class CudaDriverNative
{
    static CudaDriverNative() => NativeLibraries.EnsureResolver();

    public const int DeviceAttributeComputeCapabilityMajor = 75;
    public const int DeviceAttributeComputeCapabilityMinor = 76;
    public const int DeviceAttributeMultiprocessorCount = 16;

    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuInit(uint flags);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDriverGetVersion(out int version);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDeviceGetCount(out int count);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDeviceGet(out int device, int ordinal);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDeviceGetAttribute(out int value, int attribute, int device);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDeviceTotalMem_v2")] public static partial int cuDeviceTotalMem(out nuint bytes, int device);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuDevicePrimaryCtxRetain(out IntPtr context, int device);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuDevicePrimaryCtxRelease_v2")] public static partial int cuDevicePrimaryCtxRelease(int device);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuCtxSetCurrent(IntPtr context);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuCtxSynchronize();
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuModuleLoadData(out IntPtr module, byte* image);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuModuleUnload(IntPtr module);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuModuleGetFunction(out IntPtr function, IntPtr module, byte* name);
    [LibraryImport(NativeLibraries.Cuda)]
    public static partial int cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedMemBytes, IntPtr stream, void** kernelParams, void** extra);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemAlloc_v2")] public static partial int cuMemAlloc(out ulong pointer, nuint bytes);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemFree_v2")] public static partial int cuMemFree(ulong pointer);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyHtoD_v2")] public static partial int cuMemcpyHtoD(ulong dst, void* src, nuint bytes);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoH_v2")] public static partial int cuMemcpyDtoH(void* dst, ulong src, nuint bytes);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemcpyDtoD_v2")] public static partial int cuMemcpyDtoD(ulong dst, ulong src, nuint bytes);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuMemsetD32_v2")] public static partial int cuMemsetD32(ulong dst, uint value, nuint count);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuStreamCreate(out IntPtr stream, uint flags);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuStreamDestroy_v2")] public static partial int cuStreamDestroy(IntPtr stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuStreamSynchronize(IntPtr stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventCreate(out IntPtr evt, uint flags);
    [LibraryImport(NativeLibraries.Cuda, EntryPoint = "cuEventDestroy_v2")] public static partial int cuEventDestroy(IntPtr evt);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventRecord(IntPtr evt, IntPtr stream);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventSynchronize(IntPtr evt);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuEventElapsedTime(out float milliseconds, IntPtr start, IntPtr end);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuGetErrorString(int error, out IntPtr text);
    [LibraryImport(NativeLibraries.Cuda)] public static partial int cuGetErrorName(int error, out IntPtr text);
}
