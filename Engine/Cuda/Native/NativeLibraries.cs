using System.Reflection;
using System.Runtime.InteropServices;

namespace Astmt.Engine.Cuda.Native;

/// <summary>
/// Resolves the logical library names of the bindings to real files: libcuda by its driver soname, libnvrtc by the sonames of
/// the CUDA versions we support (newest first), and the emulator next to the assembly.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>Logical name of the CUDA driver library.</summary>
    public const string Cuda = "astmt-cuda";
    /// <summary>Logical name of the NVRTC library.</summary>
    public const string Nvrtc = "astmt-nvrtc";
    /// <summary>Logical name of the emulator library built from Kernels/.</summary>
    public const string Emulator = "astmt-emu";

    private static readonly string[] CudaCandidates = ["libcuda.so.1", "libcuda.so", "nvcuda.dll"];
    private static readonly string[] NvrtcCandidates =
        ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"];

    private static int _installed;

    /// <summary>Installs the resolver once; every binding class calls this from its static constructor.</summary>
    public static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    /// <summary>True when a library with the logical <paramref name="name"/> can be loaded; <paramref name="detail"/> says which file or why not.</summary>
    public static bool TryLoad(string name, out string detail)
    {
        EnsureResolver();
        foreach (var candidate in Candidates(name))
        {
            if (NativeLibrary.TryLoad(candidate, out var handle))
            {
                NativeLibrary.Free(handle);
                detail = candidate;
                return true;
            }
        }
        detail = $"none of {string.Join(", ", Candidates(name))} could be loaded";
        return false;
    }

    private static IEnumerable<string> Candidates(string name) => name switch
    {
        Cuda => CudaCandidates,
        Nvrtc => NvrtcCandidates,
        Emulator => [Path.Combine(AppContext.BaseDirectory, "libastmt_emu.so"),
                     Path.Combine(Path.GetDirectoryName(typeof(NativeLibraries).Assembly.Location) ?? ".", "libastmt_emu.so")],
        _ => [name],
    };

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name is not (Cuda or Nvrtc or Emulator)) return IntPtr.Zero;
        foreach (var candidate in Candidates(name))
            if (NativeLibrary.TryLoad(candidate, out var handle)) return handle;
        throw new DllNotFoundException(name switch
        {
            Cuda => "The CUDA driver (libcuda.so.1) is not installed; no GPU is usable on this machine. Use --device cpu or emu.",
            Nvrtc => "NVRTC is not installed: none of libnvrtc.so.13, .12 or .11.2 was found (Debian: apt-get install libnvrtc11.2 from non-free).",
            _ => "The kernel emulator libastmt_emu.so is missing next to the assembly; it is built by `dotnet build` with g++ (see kernels.cu.props).",
        });
    }
}
