using Astmt.Engine.Cpu;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Cpu;

/// <summary>
/// The packed SGEMM against a float64 triple loop, for every microkernel this CPU can run, every transpose form, odd
/// shapes, alpha/beta, padded leading dimensions and thread counts. The tolerance is the standard error bound of a
/// length-k float32 dot product, 2·(k+2)·u·Σ|alpha·a·b| + 2u·|beta·c|, computed per element from the same data.
/// </summary>
[NonParallelizable]
public class GemmTests : GemmSettingsFixture
{
    private const double U = 5.96e-8; // float32 unit roundoff


    private static IEnumerable<GemmKernel> Kernels() => Gemm.SupportedKernels();

    private static readonly int[][] Shapes =
    [
        [1, 1, 1],
        [7, 7, 7],
        [45, 65, 33],
        [1, 65, 7],
        [45, 1, 33],
        [33, 45, 1],
        [9, 37, 1500],
        [70, 130, 40],
        [300, 20, 70], // tall and narrow: B packed once and shared by the threads
    ];

    private static IEnumerable<TestCaseData> KernelShapeTransposeCases()
    {
        foreach (var kernel in Kernels())
            foreach (var s in Shapes)
                foreach (var ta in new[] { Transpose.No, Transpose.Yes })
                    foreach (var tb in new[] { Transpose.No, Transpose.Yes })
                        yield return new TestCaseData(kernel, s[0], s[1], s[2], ta, tb);
    }

    [TestCaseSource(nameof(KernelShapeTransposeCases))]
    public void MatchesFloat64Loop(GemmKernel kernel, int m, int n, int k, Transpose ta, Transpose tb)
    {
        Gemm.Kernel = kernel;
        Check(m, n, k, ta, tb, alpha: 1f, beta: 0f, pad: 0, seed: m * 1000 + n * 10 + k);
    }

    private static IEnumerable<TestCaseData> KernelTransposeCases()
    {
        foreach (var kernel in Kernels())
            foreach (var ta in new[] { Transpose.No, Transpose.Yes })
                foreach (var tb in new[] { Transpose.No, Transpose.Yes })
                    yield return new TestCaseData(kernel, ta, tb);
    }

    [TestCaseSource(nameof(KernelTransposeCases))]
    public void AlphaBetaAndPaddedLeadingDimensions(GemmKernel kernel, Transpose ta, Transpose tb)
    {
        Gemm.Kernel = kernel;
        Check(45, 65, 33, ta, tb, alpha: 0.75f, beta: -1.5f, pad: 5, seed: 11);
        Check(13, 70, 9, ta, tb, alpha: -2f, beta: 1f, pad: 3, seed: 12);
    }

    [TestCaseSource(nameof(KernelTransposeCases))]
    public void EveryBlockingLoopOnSmallBlocks(GemmKernel kernel, Transpose ta, Transpose tb)
    {
        // Tiny blocks make the k, M and N block loops each run several times, including short last blocks.
        Gemm.Kernel = kernel;
        GemmBlocking.Forced = new GemmBlocking(KC: 16, MC: 24, NC: 64);
        Check(61, 150, 53, ta, tb, alpha: 1.25f, beta: 0.5f, pad: 2, seed: 13);
    }

    [TestCaseSource(nameof(Kernels))]
    public void BetaZeroDoesNotReadC(GemmKernel kernel)
    {
        Gemm.Kernel = kernel;
        int m = 19, n = 37, k = 21;
        var rng = new Random(5);
        var a = RandomFloats(rng, m * k);
        var b = RandomFloats(rng, k * n);
        var c = new float[m * n];
        Array.Fill(c, float.NaN);
        Gemm.Sgemm(Transpose.No, Transpose.No, m, n, k, 1f, a, k, b, n, 0f, c, n);
        Assert.That(c.All(float.IsFinite), Is.True, "beta = 0 must overwrite C, not scale its NaNs");
    }

    [Test]
    public void AlphaZeroOrKZeroOnlyScalesC()
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        var a = new float[] { float.NaN, float.NaN, float.NaN, float.NaN, float.NaN, float.NaN };
        Gemm.Sgemm(Transpose.No, Transpose.No, 2, 3, 2, 0f, a, 2, a, 3, 2f, c, 3);
        Assert.That(c, Is.EqualTo(new float[] { 2, 4, 6, 8, 10, 12 }));
        Gemm.Sgemm(Transpose.No, Transpose.No, 2, 3, 0, 1f, [], 1, [], 3, 0f, c, 3);
        Assert.That(c, Is.All.EqualTo(0f));
    }

    [TestCaseSource(nameof(Kernels))]
    public void ResultsAreBitIdenticalForAnyThreadCount(GemmKernel kernel)
    {
        Gemm.Kernel = kernel;
        var rng = new Random(21);
        // The last two pack a shared A (short, wide) and a shared B (tall, narrow) over several k blocks, each unit packed
        // by whichever thread first needs it.
        foreach (var (m, n, k, ta, tb) in new[] { (203, 301, 257, Transpose.No, Transpose.No), (64, 777, 100, Transpose.Yes, Transpose.No), (517, 48, 300, Transpose.No, Transpose.Yes),
            (40, 900, 700, Transpose.No, Transpose.No), (600, 40, 700, Transpose.No, Transpose.Yes) })
        {
            int lda = ta == Transpose.No ? k : m, ldb = tb == Transpose.No ? n : k;
            var a = RandomFloats(rng, m * k);
            var b = RandomFloats(rng, k * n);
            var c0 = RandomFloats(rng, m * n);
            float[]? first = null;
            foreach (int threads in new[] { 1, 2, 3, 4 })
            {
                Parallelism.Threads = threads;
                var c = (float[])c0.Clone();
                Gemm.Sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 0.25f, c, n);
                if (first is null) first = c;
                else Assert.That(c, Is.EqualTo(first), $"{m}×{n}×{k} {ta}{tb}: {threads} threads differ from 1 thread");
            }
        }
    }

    [TestCaseSource(nameof(Kernels))]
    public void EdgeTilesRoundExactlyLikeFullTiles(GemmKernel kernel)
    {
        // The same rows and columns computed as part of a wide C (full tiles) and of a narrow C (edge tiles, including
        // half-width ones) must agree bit for bit, with beta = 0 and with beta ≠ 0.
        Gemm.Kernel = kernel;
        var rng = new Random(8);
        int m = 67, k = 150, wide = 96;
        var a = RandomFloats(rng, m * k);
        var b = RandomFloats(rng, k * wide);
        var c0 = RandomFloats(rng, m * wide);
        foreach (float beta in new[] { 0f, 0.75f })
        {
            var full = (float[])c0.Clone();
            Gemm.Sgemm(Transpose.No, Transpose.No, m, wide, k, 1.5f, a, k, b, wide, beta, full, wide);
            foreach (int narrow in new[] { 5, 21, 40, 77 })
            {
                var part = (float[])c0.Clone();
                Gemm.Sgemm(Transpose.No, Transpose.No, m, narrow, k, 1.5f, a, k, b, wide, beta, part, wide);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < narrow; j++)
                        Assert.That(part[i * wide + j], Is.EqualTo(full[i * wide + j]), $"beta={beta}, n={narrow}: C[{i},{j}]");
            }
        }
    }

    [Test]
    public void BadLeadingDimensionOrShortSpanFailsClearly()
    {
        var a = new float[12];
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(Transpose.No, Transpose.No, 3, 4, 4, 1f, a, 3, a, 4, 0f, new float[12], 4));
        Assert.That(ex!.Message, Does.Contain("lda=3"));
        ex = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(Transpose.No, Transpose.No, 4, 4, 4, 1f, a, 4, new float[16], 4, 0f, new float[16], 4));
        Assert.That(ex!.Message, Does.Contain("A as stored is 4×4"));
    }

    [Test]
    public void UnsupportedKernelRequestFailsClearly()
    {
        foreach (var kernel in Enum.GetValues<GemmKernel>().Where(k => !Gemm.IsSupported(k)))
            Assert.Throws<NotSupportedException>(() => Gemm.Kernel = kernel);
        Assert.That(Gemm.IsSupported(GemmKernel.Vector128), Is.True);
    }

    /// <summary>Runs one SGEMM on random data stored with <paramref name="pad"/> extra columns per row (padding filled with
    /// NaN so reading it shows up) and compares it with the float64 loop; C's padding must come back untouched.</summary>
    private static void Check(int m, int n, int k, Transpose ta, Transpose tb, float alpha, float beta, int pad, int seed)
    {
        var rng = new Random(seed);
        int aRows = ta == Transpose.No ? m : k, aCols = ta == Transpose.No ? k : m;
        int bRows = tb == Transpose.No ? k : n, bCols = tb == Transpose.No ? n : k;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        var a = Padded(rng, aRows, aCols, lda);
        var b = Padded(rng, bRows, bCols, ldb);
        var c = Padded(rng, m, n, ldc);
        var c0 = (float[])c.Clone();

        Gemm.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

        int worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0, abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = ta == Transpose.No ? a[i * lda + p] : a[p * lda + i];
                    double bv = tb == Transpose.No ? b[p * ldb + j] : b[j * ldb + p];
                    sum += av * bv;
                    abs += Math.Abs(av * bv);
                }
                double cOld = c0[i * ldc + j];
                double expected = alpha * sum + (beta == 0 ? 0 : beta * cOld);
                double tol = 2 * (k + 2) * U * Math.Abs(alpha) * abs + 2 * U * Math.Abs(beta * cOld) + 1e-30;
                double ratio = Math.Abs(c[i * ldc + j] - expected) / tol;
                if (!(ratio <= worstRatio)) { worstRatio = ratio; worst = i * ldc + j; }
            }
        Assert.That(worstRatio, Is.LessThanOrEqualTo(1.0),
            $"{Gemm.ActiveKernel} {ta}{tb} m={m} n={n} k={k}: worst element C[{worst / ldc},{worst % ldc}] = {c[Math.Max(worst, 0)]} is {worstRatio:G3}× the tolerance");
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++)
                Assert.That(float.IsNaN(c[i * ldc + j]), Is.True, $"C padding at [{i},{j}] was overwritten");
    }

    private static float[] Padded(Random rng, int rows, int cols, int ld)
    {
        var data = new float[Math.Max(1, rows * ld)];
        Array.Fill(data, float.NaN);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) data[r * ld + c] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }

    private static float[] RandomFloats(Random rng, int count)
    {
        var data = new float[count];
        for (int i = 0; i < count; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }
}
