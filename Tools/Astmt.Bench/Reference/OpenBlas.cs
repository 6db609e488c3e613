using System.Runtime.InteropServices;

namespace Astmt.Bench.Reference;

/// <summary>
/// Debian's OpenBLAS (<c>libopenblas0-pthread</c>) through P/Invoke, for the <c>--reference openblas</c> comparison only.
/// The engine itself never calls it.
/// </summary>
internal static unsafe partial class OpenBlas
{
    private const string Library = "libopenblas.so.0";
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    /// <summary>Throws a clear error when the library is missing, instead of a DllNotFoundException deep in a run.</summary>
    public static void EnsureAvailable()
    {
        if (!NativeLibrary.TryLoad(Library, typeof(OpenBlas).Assembly, null, out _))
            throw new InvalidOperationException($"--reference openblas: cannot load {Library}. Install Debian's libopenblas0-pthread (apt-get install libopenblas0-pthread).");
    }

    /// <summary>Sets OpenBLAS's thread count (the same effect as OPENBLAS_NUM_THREADS).</summary>
    public static void SetThreads(int threads) => openblas_set_num_threads(threads);

    /// <summary>The kernel family OpenBLAS picked for this CPU (e.g. "Haswell", "Zen", "SkylakeX").</summary>
    public static string CoreName() => Marshal.PtrToStringAnsi((nint)openblas_get_corename()) ?? "?";

    /// <summary>The build configuration string (version, threading, dynamic-arch).</summary>
    public static string Config() => Marshal.PtrToStringAnsi((nint)openblas_get_config()) ?? "?";

    /// <summary>Row-major cblas_sgemm with the engine's argument order.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
            cblas_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    [LibraryImport(Library)]
    private static partial void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Library)]
    private static partial void openblas_set_num_threads(int threads);

    [LibraryImport(Library)]
    private static partial byte* openblas_get_corename();

    [LibraryImport(Library)]
    private static partial byte* openblas_get_config();
}
