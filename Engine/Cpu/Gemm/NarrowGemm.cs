using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Astmt.Engine.Cpu;

/// <summary>
/// SGEMM without packing for narrow C (N ≤ <see cref="MaxN"/>, B not transposed), e.g. the 1×1 convolutions at 4×4 or 8×8
/// resolution where C = W·X is [K, PQ] with PQ of 16 or 64. There the packed path repacks all of A (the weights) in every
/// call for only N multiply-adds per packed element, so packing costs about as much as the arithmetic. Here A is read in
/// place (four rows per pass, broadcast from memory) and the rows of B, one k step at a time, stay in L1.
/// Every element of C is computed with the same operations in the same order as by the packed FMA microkernels: the same
/// k blocks (<see cref="GemmBlocking.KC"/>), an FMA chain from zero over each block, then alpha·acc (beta = 0) or
/// fma(beta, c, alpha·acc). Results therefore do not depend on which path, kernel width or thread count ran them.
/// </summary>
internal static unsafe class NarrowGemm
{
    /// <summary>Widest C handled here; beyond it one packing of A is amortised over enough columns.</summary>
    public const int MaxN = 64;

    /// <summary>Rows of C per pass: four rows × 16 columns is eight ymm accumulators.</summary>
    private const int RowsPerPass = 4;

    /// <summary>True when the problem is narrow enough to skip packing and the kernel is an FMA one (whose rounding this
    /// path reproduces).</summary>
    public static bool Applies(GemmKernel kernel, in GemmProblem g) =>
        (kernel == GemmKernel.Avx2 || kernel == GemmKernel.Avx512) && Fma.IsSupported && !g.TransB && g.N >= 8 && g.N <= MaxN;

    /// <summary>Runs the problem with k blocks of <paramref name="kcMax"/> (the packed path's), on
    /// <paramref name="threads"/> threads split by row passes.</summary>
    public static void Run(in GemmProblem problem, int kcMax, int threads)
    {
        int passes = (problem.M + RowsPerPass - 1) / RowsPerPass;
        int parts = Math.Min(threads, passes);
        if (parts <= 1)
        {
            Rows(problem, kcMax, 0, problem.M);
            return;
        }
        var job = Job.Cached ??= new Job();
        job.Problem = problem;
        job.KcMax = kcMax;
        job.Passes = passes;
        Parallelism.Run(job, parts);
    }

    private sealed class Job : IParallelWork
    {
        [ThreadStatic] public static Job? Cached;
        public GemmProblem Problem;
        public int KcMax, Passes;

        public void Execute(int part, int parts)
        {
            int p0 = (int)((long)Passes * part / parts), p1 = (int)((long)Passes * (part + 1) / parts);
            Rows(Problem, KcMax, p0 * RowsPerPass, Math.Min(Problem.M, p1 * RowsPerPass));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows(in GemmProblem g, int kcMax, int m0, int m1)
    {
        int kBlocks = (g.K + kcMax - 1) / kcMax;
        int kcStep = (g.K + kBlocks - 1) / kBlocks;
        // A[i, p] sits at a + i·rowStride + p·colStride.
        nint rowStride = g.TransA ? 1 : g.Lda, colStride = g.TransA ? g.Lda : 1;
        for (int i = m0; i < m1; i += RowsPerPass)
        {
            int rows = Math.Min(RowsPerPass, m1 - i);
            for (int kb = 0; kb < kBlocks; kb++)
            {
                int p0 = kb * kcStep, kc = Math.Min(kcStep, g.K - p0);
                float beta = kb == 0 ? g.Beta : 1f;
                float* a = g.A + i * rowStride + p0 * colStride;
                float* b = g.B + p0 * g.Ldb;
                float* c = g.C + i * g.Ldc;
                int j = 0;
                if (rows == RowsPerPass)
                    for (; j + 16 <= g.N; j += 16) Block4x16(kc, a, rowStride, colStride, b + j, g.Ldb, c + j, g.Ldc, g.Alpha, beta);
                for (int r = 0; r < rows; r++)
                {
                    int jr = j;
                    for (; jr + 8 <= g.N; jr += 8) Block1x8(kc, a + r * rowStride, colStride, b + jr, g.Ldb, c + r * g.Ldc + jr, g.Alpha, beta);
                    for (; jr < g.N; jr++) Element(kc, a + r * rowStride, colStride, b + jr, g.Ldb, c + r * g.Ldc + jr, g.Alpha, beta);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x16(int kc, float* a, nint rs, nint cs, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        var c00 = Vector256<float>.Zero; var c01 = Vector256<float>.Zero;
        var c10 = Vector256<float>.Zero; var c11 = Vector256<float>.Zero;
        var c20 = Vector256<float>.Zero; var c21 = Vector256<float>.Zero;
        var c30 = Vector256<float>.Zero; var c31 = Vector256<float>.Zero;
        float* a0 = a, a1 = a + rs, a2 = a + 2 * rs, a3 = a + 3 * rs;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            nint o = p * cs;
            var v = Vector256.Create(a0[o]);
            c00 = Fma.MultiplyAdd(v, b0, c00); c01 = Fma.MultiplyAdd(v, b1, c01);
            v = Vector256.Create(a1[o]);
            c10 = Fma.MultiplyAdd(v, b0, c10); c11 = Fma.MultiplyAdd(v, b1, c11);
            v = Vector256.Create(a2[o]);
            c20 = Fma.MultiplyAdd(v, b0, c20); c21 = Fma.MultiplyAdd(v, b1, c21);
            v = Vector256.Create(a3[o]);
            c30 = Fma.MultiplyAdd(v, b0, c30); c31 = Fma.MultiplyAdd(v, b1, c31);
            b += ldb;
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        Store(c, c00 * va, vb); Store(c + 8, c01 * va, vb); c += ldc;
        Store(c, c10 * va, vb); Store(c + 8, c11 * va, vb); c += ldc;
        Store(c, c20 * va, vb); Store(c + 8, c21 * va, vb); c += ldc;
        Store(c, c30 * va, vb); Store(c + 8, c31 * va, vb);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block1x8(int kc, float* a, nint cs, float* b, nint ldb, float* c, float alpha, float beta)
    {
        var acc = Vector256<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            acc = Fma.MultiplyAdd(Vector256.Create(a[p * cs]), Vector256.Load(b), acc);
            b += ldb;
        }
        Store(c, acc * Vector256.Create(alpha), Vector256.Create(beta));
    }

    private static void Element(int kc, float* a, nint cs, float* b, nint ldb, float* c, float alpha, float beta)
    {
        float acc = 0f;
        for (int p = 0; p < kc; p++) acc = MathF.FusedMultiplyAdd(a[p * cs], b[p * ldb], acc);
        float t = acc * alpha;
        *c = beta == 0f ? t : MathF.FusedMultiplyAdd(beta, *c, t);
    }

    /// <summary>The microkernels' epilogue: alpha·acc when beta is zero (C is not read), else fma(beta, C, alpha·acc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* c, Vector256<float> scaled, Vector256<float> vb)
    {
        if (vb.GetElement(0) == 0f) scaled.Store(c);
        else Fma.MultiplyAdd(vb, Vector256.Load(c), scaled).Store(c);
    }
}
