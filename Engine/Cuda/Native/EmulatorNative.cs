using System.Runtime.InteropServices;

namespace Astmt.Engine.Cuda.Native;

/// <summary>The emulator's C entry points (Kernels/emulator/emu_runtime.cpp); 0 is success, the message is in astmt_emu_last_error.</summary>
internal static unsafe partial class EmulatorNative
{
    static EmulatorNative() => NativeLibraries.EnsureResolver();

    [LibraryImport(NativeLibraries.Emulator)] public static partial int astmt_emu_kernel_count();
    [LibraryImport(NativeLibraries.Emulator)] public static partial byte* astmt_emu_kernel_name(int index);
    [LibraryImport(NativeLibraries.Emulator)] public static partial int astmt_emu_get_function(byte* name, out IntPtr handle);
    [LibraryImport(NativeLibraries.Emulator)] public static partial void astmt_emu_set_schedule(int kind, ulong seed);
    [LibraryImport(NativeLibraries.Emulator)] public static partial int astmt_emu_get_schedule();
    [LibraryImport(NativeLibraries.Emulator)] public static partial void astmt_emu_set_workers(int workers);
    [LibraryImport(NativeLibraries.Emulator)] public static partial byte* astmt_emu_last_error();
    [LibraryImport(NativeLibraries.Emulator)]
    public static partial int astmt_emu_launch(IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, void** args);
}
