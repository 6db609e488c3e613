using Astmt.Engine.Cpu;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Cpu;

/// <summary>
/// Implicit-GEMM packing (<see cref="Gemm.SgemmIm2Col"/>): the im2col matrix packed straight from the image, in the forward
/// form (w · col) and the backward-weight form (gy · colᵀ), against a float64 product with the column matrix built by its
/// definition. Shapes are odd on purpose: padding on every edge, stride 2, dilation, output rows shorter than a
/// microkernel panel (so a panel spans several rows), tails of M, N and K smaller than a tile, and tiny forced blocks that
/// start k blocks in the middle of a channel's taps and panels in the middle of an output row.
/// </summary>
[NonParallelizable]
public class Im2ColPackingTests
{
    private const double U = 5.96e-8; // float32 unit roundoff

    /// <summary>Image [C,H,W], kernel R×S, stride, padding, dilation, and M (output channels).</summary>
    public sealed record Shape(int C, int H, int W, int R, int S, int Stride, int Padding, int Dilation, int M)
    {
        public int P => (H + 2 * Padding - Dilation * (R - 1) - 1) / Stride + 1;
        public int Q => (W + 2 * Padding - Dilation * (S - 1) - 1) / Stride + 1;
        public override string ToString() => $"c{C} {H}x{W} k{R}x{S} s{Stride} p{Padding} d{Dilation} m{M}";
    }

    private static readonly Shape[] Shapes =
    [
        new(3, 7, 9, 3, 3, 1, 1, 1, 5),
        new(5, 11, 10, 3, 3, 2, 1, 1, 9),
        new(2, 13, 12, 3, 3, 1, 2, 2, 3),
        new(3, 15, 14, 7, 7, 2, 3, 1, 4),
        new(2, 20, 19, 3, 3, 1, 6, 6, 7),
        new(4, 5, 3, 3, 3, 1, 1, 1, 17),    // Q = 3: every panel spans many output rows
        new(2, 6, 1, 3, 1, 1, 1, 1, 2),     // W = 1, Q = 1
        new(3, 9, 70, 3, 3, 1, 1, 1, 11),   // rows longer than a panel, with a short last panel per row
        new(2, 7, 6, 2, 3, 1, 0, 1, 3),     // even kernel, no padding
        new(6, 9, 11, 3, 3, 2, 2, 2, 13),   // stride and dilation together
    ];

    private GemmKernel _savedKernel;
    private int _savedThreads;

    [SetUp]
    public void Save()
    {
        _savedKernel = Gemm.Kernel;
        _savedThreads = Parallelism.Threads;
    }

    [TearDown]
    public void Restore()
    {
        Gemm.Kernel = _savedKernel;
        Parallelism.Threads = _savedThreads;
        GemmBlocking.Forced = null;
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var kernel in Gemm.SupportedKernels())
            foreach (var shape in Shapes)
                foreach (bool small in new[] { false, true })
                    yield return new TestCaseData(kernel, shape, small).SetArgDisplayNames(kernel.ToString(), shape.ToString(), small ? "small blocks" : "default blocks");
    }

    [TestCaseSource(nameof(Cases))]
    public void ForwardFormMatchesFloat64Product(GemmKernel kernel, Shape s, bool smallBlocks)
    {
        Gemm.Kernel = kernel;
        if (smallBlocks) GemmBlocking.Forced = new GemmBlocking(KC: 5, MC: 16, NC: 40);
        var rng = new Random(Seed(s));
        int rows = s.C * s.R * s.S, cols = s.P * s.Q;
        var x = RandomFloats(rng, s.C * s.H * s.W);
        var w = RandomFloats(rng, s.M * rows);
        var col = Col64(s, x);
        var y = Filled(s.M * cols, float.NaN);

        Gemm.SgemmIm2Col(Transpose.No, s.M, w, rows, x, View(s), colTransposed: false, 0f, y, cols);

        AssertProduct(s.M, cols, rows, (i, p) => w[i * rows + p], (p, j) => col[p * cols + j], y, beta: 0, y0: null, $"forward {s}");
    }

    [TestCaseSource(nameof(Cases))]
    public void BackwardWeightFormMatchesFloat64Product(GemmKernel kernel, Shape s, bool smallBlocks)
    {
        Gemm.Kernel = kernel;
        if (smallBlocks) GemmBlocking.Forced = new GemmBlocking(KC: 7, MC: 16, NC: 40);
        var rng = new Random(Seed(s) + 1);
        int rows = s.C * s.R * s.S, cols = s.P * s.Q;
        var x = RandomFloats(rng, s.C * s.H * s.W);
        var gy = RandomFloats(rng, s.M * cols);
        var col = Col64(s, x);
        var gw = RandomFloats(rng, s.M * rows);
        var gw0 = (float[])gw.Clone();

        // beta = 1: the accumulation over images of a batch.
        Gemm.SgemmIm2Col(Transpose.No, s.M, gy, cols, x, View(s), colTransposed: true, 1f, gw, rows);

        AssertProduct(s.M, rows, cols, (i, p) => gy[i * cols + p], (p, j) => col[j * cols + p], gw, beta: 1, y0: gw0, $"backward-weight {s}");
    }

    [TestCaseSource(nameof(ThreadKernels))]
    public void ResultsAreBitIdenticalForAnyThreadCount(GemmKernel kernel)
    {
        Gemm.Kernel = kernel;
        var s = new Shape(24, 23, 37, 3, 3, 1, 2, 2, 70);
        var rng = new Random(31);
        int rows = s.C * s.R * s.S, cols = s.P * s.Q;
        var x = RandomFloats(rng, s.C * s.H * s.W);
        var w = RandomFloats(rng, s.M * rows);
        var gy = RandomFloats(rng, s.M * cols);
        float[]? firstY = null, firstGw = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            Parallelism.Threads = threads;
            var y = new float[s.M * cols];
            var gw = new float[s.M * rows];
            Gemm.SgemmIm2Col(Transpose.No, s.M, w, rows, x, View(s), colTransposed: false, 0f, y, cols);
            Gemm.SgemmIm2Col(Transpose.No, s.M, gy, cols, x, View(s), colTransposed: true, 0f, gw, rows);
            if (firstY is null) { firstY = y; firstGw = gw; continue; }
            Assert.That(y, Is.EqualTo(firstY), $"forward: {threads} threads differ from 1 thread");
            Assert.That(gw, Is.EqualTo(firstGw), $"backward-weight: {threads} threads differ from 1 thread");
        }
    }

    private static IEnumerable<GemmKernel> ThreadKernels() => Gemm.SupportedKernels();

    [Test]
    public void ShortImageFailsClearly()
    {
        var s = new Shape(2, 5, 5, 3, 3, 1, 1, 1, 2);
        var ex = Assert.Throws<ArgumentException>(() => Gemm.SgemmIm2Col(Transpose.No, 2, new float[2 * 18], 18, new float[49], View(s),
            colTransposed: false, 0f, new float[2 * 25], 25));
        Assert.That(ex!.Message, Does.Contain("implicit im2col").And.Contain("[2,5,5]").And.Contain("need 50"));
    }

    private static int Seed(Shape s) => ((s.C * 31 + s.H) * 31 + s.W) * 31 + s.R * 7 + s.Stride * 3 + s.Dilation;

    private static Im2ColView View(Shape s) => new()
    {
        C = s.C, H = s.H, W = s.W, R = s.R, S = s.S, P = s.P, Q = s.Q, Stride = s.Stride, Padding = s.Padding, Dilation = s.Dilation,
        Images = 1, ImageStride = s.C * s.H * s.W,
    };

    /// <summary>The im2col matrix by its definition: row (c,r,s), column (p,q) = x[c, p·stride − pad + r·dil, q·stride − pad + s·dil].</summary>
    private static double[] Col64(Shape s, float[] x)
    {
        int cols = s.P * s.Q;
        var col = new double[s.C * s.R * s.S * cols];
        for (int c = 0; c < s.C; c++)
        for (int r = 0; r < s.R; r++)
        for (int t = 0; t < s.S; t++)
        for (int p = 0; p < s.P; p++)
        for (int q = 0; q < s.Q; q++)
        {
            int h = p * s.Stride - s.Padding + r * s.Dilation, w = q * s.Stride - s.Padding + t * s.Dilation;
            if (h < 0 || h >= s.H || w < 0 || w >= s.W) continue;
            col[((c * s.R + r) * s.S + t) * cols + p * s.Q + q] = x[(c * s.H + h) * s.W + w];
        }
        return col;
    }

    /// <summary>Checks c [m×n] against Σ_p a(i,p)·b(p,j) (+ beta·y0) within the float32 dot-product error bound.</summary>
    private static void AssertProduct(int m, int n, int k, Func<int, int, double> a, Func<int, int, double> b, float[] c, double beta, float[]? y0, string what)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0, abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double v = a(i, p) * b(p, j);
                    sum += v;
                    abs += Math.Abs(v);
                }
                double old = y0 is null ? 0 : y0[i * n + j];
                double expected = sum + beta * old;
                double tol = 2 * (k + 2) * U * abs + 2 * U * Math.Abs(beta * old) + 1e-30;
                Assert.That(Math.Abs(c[i * n + j] - expected), Is.LessThanOrEqualTo(tol), $"{what} ({Gemm.ActiveKernel}): C[{i},{j}] = {c[i * n + j]}, expected {expected}");
            }
    }

    private static float[] Filled(int count, float value)
    {
        var data = new float[count];
        Array.Fill(data, value);
        return data;
    }

    private static float[] RandomFloats(Random rng, int count)
    {
        var data = new float[count];
        for (int i = 0; i < count; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }
}
