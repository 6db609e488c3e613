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
public class Im2ColPackingTests : GemmSettingsFixture
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

    private static IEnumerable<TestCaseData> Cases() => KernelShapeBlockCases(Shapes);

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

    private static IEnumerable<TestCaseData> TransposedCases()
    {
        // (Cin, H, W, K, R, padding, dilation): same padding, no padding, dilation, a 7x7, maps narrower than a panel.
        int[][] shapes = [[3, 7, 9, 5, 3, 1, 1], [2, 6, 11, 9, 3, 0, 1], [4, 13, 12, 3, 3, 2, 2], [2, 9, 10, 3, 7, 3, 1], [17, 3, 5, 4, 3, 1, 1], [3, 20, 19, 2, 3, 6, 6]];
        foreach (var kernel in Gemm.SupportedKernels())
            foreach (var shape in shapes)
                foreach (bool small in new[] { false, true })
                    yield return new TestCaseData(kernel, shape, small).SetArgDisplayNames(kernel.ToString(), string.Join("x", shape), small ? "small blocks" : "default blocks");
    }

    [TestCaseSource(nameof(TransposedCases))]
    public void FlippedWeightsFormIsTheStrideOneTransposedConvolution(GemmKernel kernel, int[] shape, bool smallBlocks)
    {
        // gx[c,h,w] = Σ gy[k, h + pad − r·dil, w + pad − s·dil] · w[k,c,r,s] over two images stored with a gap between them.
        Gemm.Kernel = kernel;
        if (smallBlocks) GemmBlocking.Forced = new GemmBlocking(KC: 5, MC: 16, NC: 40);
        int cin = shape[0], h = shape[1], w = shape[2], k = shape[3], r = shape[4], pad = shape[5], dil = shape[6], images = 2;
        int p = h + 2 * pad - dil * (r - 1), q = w + 2 * pad - dil * (r - 1), gap = 3;
        var rng = new Random(cin * 1000 + h * 10 + r);
        var weights = RandomFloats(rng, k * cin * r * r);
        var gy = RandomFloats(rng, images * (k * p * q + gap));
        var view = new Im2ColView
        {
            C = k, H = p, W = q, R = r, S = r, P = h, Q = w, Stride = 1, Padding = dil * (r - 1) - pad, Dilation = dil,
            Images = images, ImageStride = k * p * q + gap,
        };
        int n = images * h * w;
        var gx = Filled(cin * n, float.NaN);

        Gemm.SgemmIm2ColFlippedWeights(weights, k, cin, gy, view, 0f, gx, n);

        for (int c = 0; c < cin; c++)
            for (int j = 0; j < n; j++)
            {
                int image = j / (h * w), hh = j % (h * w) / w, ww = j % w;
                double sum = 0, abs = 0;
                for (int kk = 0; kk < k; kk++)
                    for (int rr = 0; rr < r; rr++)
                        for (int ss = 0; ss < r; ss++)
                        {
                            int ph = hh + pad - rr * dil, qw = ww + pad - ss * dil;
                            if (ph < 0 || ph >= p || qw < 0 || qw >= q) continue;
                            double v = (double)gy[image * view.ImageStride + (kk * p + ph) * q + qw] * weights[((kk * cin + c) * r + rr) * r + ss];
                            sum += v;
                            abs += Math.Abs(v);
                        }
                double tol = 2 * (k * r * r + 2) * U * abs + 1e-30;
                Assert.That(Math.Abs(gx[c * n + j] - sum), Is.LessThanOrEqualTo(tol), $"{Gemm.ActiveKernel} {string.Join("x", shape)}: gx[{c},{j}] = {gx[c * n + j]}, expected {sum}");
            }
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

    private static IEnumerable<TestCaseData> TransposedPanelCases()
    {
        // Shapes whose output rows are whole 8-position chunks (the direct 8×8 path), rows with a tail, maps narrower than a
        // chunk, dilation, an even kernel, stride 2 and two images side by side; k ranges that start mid-row and end mid-chunk.
        Shape[] shapes =
        [
            new(5, 9, 16, 3, 3, 1, 1, 1, 1),
            new(2, 5, 32, 3, 3, 1, 1, 1, 1),    // several whole chunks per row between the padded ones
            new(3, 7, 21, 3, 3, 1, 1, 1, 1),
            new(4, 6, 5, 3, 3, 1, 1, 1, 1),
            new(3, 12, 24, 3, 3, 1, 2, 2, 1),
            new(2, 8, 17, 2, 3, 1, 0, 1, 1),
            new(6, 10, 8, 1, 1, 1, 0, 1, 1),
            new(3, 11, 20, 3, 3, 2, 1, 1, 1),   // stride 2: the gathering path
        ];
        foreach (var kernel in Gemm.SupportedKernels())
            foreach (var shape in shapes)
                foreach (int images in new[] { 1, 2 })
                    yield return new TestCaseData(kernel, shape, images).SetArgDisplayNames(kernel.ToString(), shape.ToString(), $"{images} image(s)");
    }

    /// <summary>The backward-weight panels hold exactly the elements of colᵀ (copies, so bit-exact), zeros past the last
    /// column, for k blocks and column ranges that start anywhere.</summary>
    [TestCaseSource(nameof(TransposedPanelCases))]
    public unsafe void TransposedPanelsHoldTheColumnMatrixExactly(GemmKernel kernel, Shape s, int images)
    {
        int rows = s.C * s.R * s.S, pq = s.P * s.Q, gap = 5, imageStride = s.C * s.H * s.W + gap;
        var rng = new Random(Seed(s) + images);
        var x = RandomFloats(rng, images * imageStride);
        var cols = new double[images][];
        for (int i = 0; i < images; i++) cols[i] = Col64(s, x.AsSpan(i * imageStride, s.C * s.H * s.W).ToArray());
        var view = View(s);
        view.Images = images;
        view.ImageStride = imageStride;
        int positions = images * pq;
        (int P0, int Kc, int J0, int Nc)[] ranges =
        [
            (0, positions, 0, rows),
            (Math.Min(3, positions - 1), Math.Min(29, positions - Math.Min(3, positions - 1)), 1, Math.Max(1, rows - 2)),
            (positions / 2, positions - positions / 2, rows / 3, rows - rows / 3),
        ];
        foreach (var (p0, kc, j0, nc) in ranges)
        {
            int nr = kernel switch { GemmKernel.Avx512 => Microkernel512.NR, GemmKernel.Avx2 => Microkernel256.NR, _ => Microkernel128.NR };
            int panels = (nc + nr - 1) / nr;
            var packed = Filled(panels * nr * kc + 64, float.NaN);
            fixed (float* px = x)
            fixed (float* pd = packed)
            {
                view.X = px;
                switch (kernel)
                {
                    case GemmKernel.Avx512: Im2ColPacking.PackColTransposed<Microkernel512>(view, p0, kc, j0, nc, pd); break;
                    case GemmKernel.Avx2: Im2ColPacking.PackColTransposed<Microkernel256>(view, p0, kc, j0, nc, pd); break;
                    default: Im2ColPacking.PackColTransposed<Microkernel128>(view, p0, kc, j0, nc, pd); break;
                }
            }
            for (int t = 0; t < panels; t++)
                for (int kk = 0; kk < kc; kk++)
                    for (int j = 0; j < nr; j++)
                    {
                        int column = t * nr + j, position = p0 + kk;
                        double expected = column < nc && j0 + column < rows
                            ? cols[position / pq][(j0 + column) * pq + position % pq] : 0.0;
                        float actual = packed[(t * kc + kk) * nr + j];
                        Assert.That(actual, Is.EqualTo((float)expected),
                            $"{kernel} {s} images {images} range ({p0},{kc},{j0},{nc}): panel {t}, k {kk}, column {j}");
                    }
        }
    }


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
