using System.Runtime.InteropServices;
using System.Text;
using Astmt.Engine.Cuda.Native;

namespace Astmt.Engine.Cuda;

/// <summary>
/// A real CUDA device through the driver API: the device's primary context, modules from Kernels/*.cu (PTX precompiled by
/// nvcc at build time, else compiled by NVRTC and cached on disk: <see cref="PtxProvider"/>), and launches on the default stream. Every driver call is checked where it is made.
/// </summary>
public sealed unsafe class CudaContext : GpuContext, IKernelLauncher
{
    private readonly int _device;
    private readonly IntPtr _context;
    private readonly Dictionary<string, IntPtr> _modules = new();
    private readonly Dictionary<string, KernelFunction> _functions = new();
    private readonly object _gate = new();

    // The driver's current context is per OS thread; ops may run on any thread, so each call site makes ours current once.
    [ThreadStatic] private static IntPtr _currentOnThisThread;

    /// <summary>Opens device <paramref name="ordinal"/>: cuInit, cuDeviceGet, primary context retain, set current.</summary>
    public CudaContext(int ordinal = 0)
    {
        Check(CudaDriverNative.cuInit(0), "cuInit", "0");
        Check(CudaDriverNative.cuDeviceGetCount(out int count), "cuDeviceGetCount", "");
        if (ordinal < 0 || ordinal >= count)
            throw new ArgumentOutOfRangeException(nameof(ordinal), $"CUDA device {ordinal} does not exist; {count} device(s) present.");
        Check(CudaDriverNative.cuDeviceGet(out _device, ordinal), "cuDeviceGet", $"ordinal={ordinal}");
        Check(CudaDriverNative.cuDevicePrimaryCtxRetain(out _context, _device), "cuDevicePrimaryCtxRetain", $"device={_device}");
        MakeCurrent();
        Check(CudaDriverNative.cuDeviceGetAttribute(out int major, CudaDriverNative.DeviceAttributeComputeCapabilityMajor, _device),
            "cuDeviceGetAttribute", $"COMPUTE_CAPABILITY_MAJOR, device={_device}");
        Check(CudaDriverNative.cuDeviceGetAttribute(out int minor, CudaDriverNative.DeviceAttributeComputeCapabilityMinor, _device),
            "cuDeviceGetAttribute", $"COMPUTE_CAPABILITY_MINOR, device={_device}");
        Check(CudaDriverNative.cuDeviceGetAttribute(out int sms, CudaDriverNative.DeviceAttributeMultiprocessorCount, _device),
            "cuDeviceGetAttribute", $"MULTIPROCESSOR_COUNT, device={_device}");
        ComputeCapability = major * 10 + minor;
        MultiprocessorCount = sms;
        byte* name = stackalloc byte[256];
        Check(CudaDriverNative.cuDeviceGetName(name, 256, _device), "cuDeviceGetName", $"device={_device}");
        Name = Marshal.PtrToStringUTF8((IntPtr)name) ?? "cuda";
        Ordinal = ordinal;
    }

    /// <summary>True when the driver loads and reports at least one device; <paramref name="reason"/> says why not otherwise.</summary>
    public static bool IsAvailable(out string reason)
    {
        if (!NativeLibraries.TryLoad(NativeLibraries.Cuda, out reason)) { reason = "no CUDA driver: " + reason; return false; }
        int r = CudaDriverNative.cuInit(0);
        if (r != 0) { reason = $"cuInit failed with {ErrorName(r)}"; return false; }
        r = CudaDriverNative.cuDeviceGetCount(out int count);
        if (r != 0 || count == 0) { reason = r != 0 ? $"cuDeviceGetCount failed with {ErrorName(r)}" : "the driver reports no device"; return false; }
        reason = $"{count} device(s)";
        return true;
    }

    /// <summary>Device ordinal.</summary>
    public int Ordinal { get; }

    /// <summary>Compute capability as major·10 + minor (80 for sm_80).</summary>
    public int ComputeCapability { get; }

    /// <summary>Number of streaming multiprocessors.</summary>
    public int MultiprocessorCount { get; }

    /// <inheritdoc />
    public override DeviceKind Kind => DeviceKind.Cuda;

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override IKernelLauncher Launcher => this;

    /// <inheritdoc />
    public override int MaxGridStrideBlocks => Math.Max(1, MultiprocessorCount) * 8;

    /// <summary>Makes this context current on the calling thread.</summary>
    public void MakeCurrent()
    {
        Check(CudaDriverNative.cuCtxSetCurrent(_context), "cuCtxSetCurrent", $"context=0x{_context:x}");
        _currentOnThisThread = _context;
    }

    private void EnsureCurrent()
    {
        if (_currentOnThisThread != _context) MakeCurrent();
    }

    /// <summary>Loads PTX as a module (cuModuleLoadData) under <paramref name="key"/>, once.</summary>
    public IntPtr LoadModule(string key, string ptx)
    {
        lock (_gate)
        {
            if (_modules.TryGetValue(key, out var m)) return m;
            var bytes = Encoding.UTF8.GetBytes(ptx + "\0");
            fixed (byte* p = bytes)
                Check(CudaDriverNative.cuModuleLoadData(out m, p), "cuModuleLoadData", $"module={key}, {bytes.Length} bytes of PTX");
            _modules[key] = m;
            return m;
        }
    }

    /// <summary>Resolves a kernel: loads its family on first use, from PTX precompiled by nvcc when embedded and current,
    /// else compiled by NVRTC for this device's architecture through the PTX cache (<see cref="PtxProvider"/>).</summary>
    public KernelFunction GetFunction(string name)
    {
        lock (_gate)
        {
            if (_functions.TryGetValue(name, out var f)) return f;
            EnsureCurrent();
            string family = KernelSources.FamilyOf(name);
            var module = LoadModule(family, PtxProvider.Default.Get(family, ComputeCapability).Ptx);
            var nameBytes = Encoding.UTF8.GetBytes(name + "\0");
            IntPtr handle;
            fixed (byte* n = nameBytes)
                Check(CudaDriverNative.cuModuleGetFunction(out handle, module, n), "cuModuleGetFunction", $"module={family}, name={name}");
            f = new KernelFunction(name, handle);
            _functions[name] = f;
            return f;
        }
    }

    /// <inheritdoc />
    public void Launch(KernelFunction function, Dim3 grid, Dim3 block, uint sharedBytes, void** args)
    {
        EnsureCurrent();
        KernelLaunchLog.Before(function, grid, block, sharedBytes);
        var timer = KernelTimer;
        var interval = timer?.Begin(function.Name);
        Check(CudaDriverNative.cuLaunchKernel(function.Handle, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, sharedBytes, IntPtr.Zero, args, null),
            "cuLaunchKernel", $"{function.Name}, grid={grid}, block={block}, shared={sharedBytes}");
        if (interval != null) timer!.End(function.Name, interval);
        if (KernelLaunchLog.Enabled) Synchronize();
        KernelLaunchLog.After(function);
    }

    /// <inheritdoc />
    public override IDeviceInterval CreateInterval()
    {
        EnsureCurrent();
        return new CudaEventInterval(this);
    }

    /// <inheritdoc />
    public override string IntervalClock => "CUDA events on the default stream";

    /// <inheritdoc />
    protected internal override ulong RawAllocate(long bytes)
    {
        EnsureCurrent();
        Check(CudaDriverNative.cuMemAlloc(out ulong p, (nuint)bytes), "cuMemAlloc", $"bytes={bytes}");
        return p;
    }

    /// <inheritdoc />
    protected internal override void RawFree(ulong pointer)
    {
        EnsureCurrent();
        Check(CudaDriverNative.cuMemFree(pointer), "cuMemFree", $"0x{pointer:x}");
    }

    /// <inheritdoc />
    public override void CopyHostToDevice(ulong destination, void* source, long bytes)
    {
        EnsureCurrent();
        Check(CudaDriverNative.cuMemcpyHtoD(destination, source, (nuint)bytes), "cuMemcpyHtoD", $"dst=0x{destination:x}, bytes={bytes}");
    }

    /// <inheritdoc />
    public override void CopyDeviceToHost(void* destination, ulong source, long bytes)
    {
        EnsureCurrent();
        Check(CudaDriverNative.cuMemcpyDtoH(destination, source, (nuint)bytes), "cuMemcpyDtoH", $"src=0x{source:x}, bytes={bytes}");
    }

    /// <inheritdoc />
    public override void CopyDeviceToDevice(ulong destination, ulong source, long bytes)
    {
        EnsureCurrent();
        Check(CudaDriverNative.cuMemcpyDtoD(destination, source, (nuint)bytes), "cuMemcpyDtoD", $"dst=0x{destination:x}, src=0x{source:x}, bytes={bytes}");
    }

    /// <inheritdoc />
    public override void Memset32(ulong destination, uint value, long count)
    {
        EnsureCurrent();
        Check(CudaDriverNative.cuMemsetD32(destination, value, (nuint)count), "cuMemsetD32", $"dst=0x{destination:x}, value={value}, count={count}");
    }

    /// <inheritdoc />
    public override void Synchronize()
    {
        EnsureCurrent();
        Check(CudaDriverNative.cuCtxSynchronize(), "cuCtxSynchronize", "");
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        base.Dispose();
        lock (_gate)
        {
            foreach (var m in _modules.Values) Check(CudaDriverNative.cuModuleUnload(m), "cuModuleUnload", $"0x{m:x}");
            _modules.Clear();
            _functions.Clear();
        }
        Check(CudaDriverNative.cuDevicePrimaryCtxRelease(_device), "cuDevicePrimaryCtxRelease", $"device={_device}");
    }

    /// <summary>Throws a <see cref="CudaException"/> naming the call and its arguments unless <paramref name="result"/> is CUDA_SUCCESS.</summary>
    internal static void Check(int result, string call, string arguments)
    {
        if (result == 0) return;
        string text = "unknown error";
        if (CudaDriverNative.cuGetErrorString(result, out var s) == 0 && s != IntPtr.Zero) text = Marshal.PtrToStringUTF8(s) ?? text;
        throw new CudaException(call, arguments, result, ErrorName(result), text);
    }

    private static string ErrorName(int result) =>
        CudaDriverNative.cuGetErrorName(result, out var n) == 0 && n != IntPtr.Zero ? Marshal.PtrToStringUTF8(n) ?? $"CUresult {result}" : $"CUresult {result}";
}
