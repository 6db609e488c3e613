using Astmt.Engine.Autograd;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

public class ConvTests
{
    /// <summary>One convolution: input [B,C,H,W], weight [K,C,R,S], stride, padding, dilation, bias.</summary>
    public sealed record Config(int B, int C, int H, int W, int K, int R, int S, int Stride, int Padding, int Dilation, bool Bias)
    {
        public override string ToString() => $"x{B}x{C}x{H}x{W} k{K}x{R}x{S} s{Stride} p{Padding} d{Dilation}{(Bias ? " bias" : "")}";
    }

    // Every configuration the two models use (1x1, 3x3, 7x7; stride 1 and 2; dilation 1/2/6/12/18), on odd sizes.
    private static readonly Config[] ForwardConfigs =
    [
        new(2, 3, 7, 9, 4, 3, 3, 1, 1, 1, true),
        new(1, 5, 11, 10, 3, 3, 3, 2, 1, 1, false),
        new(2, 3, 13, 12, 2, 3, 3, 1, 2, 2, true),
        new(1, 2, 9, 8, 3, 1, 1, 1, 0, 1, true),
        new(2, 4, 7, 7, 3, 1, 1, 2, 0, 1, false),
        new(1, 3, 15, 14, 2, 7, 7, 2, 3, 1, true),
        new(1, 2, 20, 19, 2, 3, 3, 1, 6, 6, false),
        new(1, 2, 7, 6, 3, 2, 3, 1, 0, 1, true),
        new(1, 2, 5, 5, 2, 3, 3, 1, 12, 12, false),
        new(1, 1, 4, 6, 2, 3, 3, 1, 18, 18, true),
        new(3, 1, 1, 1, 2, 1, 1, 1, 0, 1, true),
        new(1, 3, 45, 65, 5, 3, 3, 1, 1, 1, true),
        // Dilation ≥ H and W: only the centre tap meets the input (computed as a 1x1 convolution); and the boundary
        // dilation = H − 1, where the outer taps still reach one row and the full im2col path must run.
        new(2, 3, 4, 3, 4, 5, 5, 1, 8, 4, true),
        new(2, 3, 5, 4, 2, 3, 3, 1, 4, 4, true),
    ];

    // Small enough for finite differences over every element.
    private static readonly Config[] GradConfigs =
    [
        new(2, 2, 5, 6, 3, 3, 3, 1, 1, 1, true),
        new(1, 3, 7, 6, 2, 3, 3, 2, 1, 1, true),
        new(1, 2, 7, 7, 2, 3, 3, 1, 2, 2, false),
        new(2, 3, 4, 5, 2, 1, 1, 1, 0, 1, true),
        new(1, 2, 5, 6, 3, 1, 1, 2, 0, 1, false),
        new(1, 1, 4, 5, 2, 3, 3, 1, 6, 6, true),
        new(1, 2, 5, 7, 2, 2, 3, 2, 1, 1, true),
        new(2, 2, 3, 3, 2, 3, 3, 1, 3, 3, true),
    ];

    public static IEnumerable<Config> ForwardCases() => ForwardConfigs;
    public static IEnumerable<Config> GradCases() => GradConfigs;

    [TestCaseSource(nameof(ForwardCases))]
    public void ForwardMatchesFloat64Loops(Config c)
    {
        var rng = new Random(11);
        var x = Numeric.RandomDouble(rng, c.B, c.C, c.H, c.W);
        var w = Numeric.RandomDouble(rng, c.K, c.C, c.R, c.S);
        var b = c.Bias ? Numeric.RandomDouble(rng, c.K) : null;
        var expected = Reference(c, x.ToDoubleArray(), w.ToDoubleArray(), b?.ToDoubleArray(), out int p, out int q);

        var y64 = F.Conv2d(x, w, b, c.Stride, c.Padding, c.Dilation);
        Assert.That(y64.Shape, Is.EqualTo(new[] { c.B, c.K, p, q }));
        Numeric.AssertClose(expected, y64.ToDoubleArray(), 1e-12, 1e-12, $"float64 conv {c}");

        var y32 = F.Conv2d(x.To(DType.Float32), w.To(DType.Float32), b?.To(DType.Float32), c.Stride, c.Padding, c.Dilation);
        double tol = 2e-6 * Math.Sqrt(c.C * c.R * c.S);
        Numeric.AssertClose(expected, y32.ToDoubleArray(), tol, 1e-5, $"float32 conv {c}");
    }

    [TestCaseSource(nameof(ForwardCases))]
    public void BackwardMatchesFloat64LoopsAndFloat32Agrees(Config c)
    {
        var rng = new Random(12);
        var x = Numeric.RandomDouble(rng, c.B, c.C, c.H, c.W);
        var w = Numeric.RandomDouble(rng, c.K, c.C, c.R, c.S);
        Reference(c, x.ToDoubleArray(), w.ToDoubleArray(), null, out int p, out int q);
        var gy = Numeric.RandomDouble(rng, c.B, c.K, p, q);
        ReferenceBackward(c, x.ToDoubleArray(), w.ToDoubleArray(), gy.ToDoubleArray(), p, q, out var gxRef, out var gwRef);

        Numeric.AssertClose(gxRef, F.Conv2dInputGrad(gy, w, c.H, c.W, c.Stride, c.Padding, c.Dilation).ToDoubleArray(), 1e-12, 1e-12, "float64 input grad");
        Numeric.AssertClose(gwRef, F.Conv2dWeightGrad(x, gy, c.R, c.S, c.Stride, c.Padding, c.Dilation).ToDoubleArray(), 1e-11, 1e-12, "float64 weight grad");

        var gx32 = F.Conv2dInputGrad(gy.To(DType.Float32), w.To(DType.Float32), c.H, c.W, c.Stride, c.Padding, c.Dilation);
        var gw32 = F.Conv2dWeightGrad(x.To(DType.Float32), gy.To(DType.Float32), c.R, c.S, c.Stride, c.Padding, c.Dilation);
        Numeric.AssertClose(gxRef, gx32.ToDoubleArray(), 2e-6 * Math.Sqrt(c.K * c.R * c.S), 1e-5, "float32 input grad");
        Numeric.AssertClose(gwRef, gw32.ToDoubleArray(), 2e-6 * Math.Sqrt(c.B * p * q), 1e-5, "float32 weight grad");
    }

    [TestCaseSource(nameof(GradCases))]
    public void GradientsMatchFiniteDifferences(Config c)
    {
        var rng = new Random(13);
        Tensor[] inputs = c.Bias
            ? [Numeric.RandomDouble(rng, c.B, c.C, c.H, c.W), Numeric.RandomDouble(rng, c.K, c.C, c.R, c.S), Numeric.RandomDouble(rng, c.K)]
            : [Numeric.RandomDouble(rng, c.B, c.C, c.H, c.W), Numeric.RandomDouble(rng, c.K, c.C, c.R, c.S)];
        GradCheck.Check(t => F.Conv2d(t[0], t[1], c.Bias ? t[2] : null, c.Stride, c.Padding, c.Dilation), inputs);
    }

    [TestCaseSource(nameof(GradCases))]
    public void CompanionOpsMatchFiniteDifferences(Config c)
    {
        var rng = new Random(14);
        var probe = F.Conv2d(Tensor.Zeros([c.B, c.C, c.H, c.W], DType.Float64), Tensor.Zeros([c.K, c.C, c.R, c.S], DType.Float64), null, c.Stride, c.Padding, c.Dilation);
        int p = probe.Shape[2], q = probe.Shape[3];
        GradCheck.Check(t => F.Conv2dInputGrad(t[0], t[1], c.H, c.W, c.Stride, c.Padding, c.Dilation),
            [Numeric.RandomDouble(rng, c.B, c.K, p, q), Numeric.RandomDouble(rng, c.K, c.C, c.R, c.S)]);
        GradCheck.Check(t => F.Conv2dWeightGrad(t[0], t[1], c.R, c.S, c.Stride, c.Padding, c.Dilation),
            [Numeric.RandomDouble(rng, c.B, c.C, c.H, c.W), Numeric.RandomDouble(rng, c.B, c.K, p, q)]);
    }

    [TestCase(1, 1, 0, 1, TestName = "SecondOrder 1x1")]
    [TestCase(3, 1, 1, 1, TestName = "SecondOrder 3x3 pad 1")]
    [TestCase(3, 2, 2, 2, TestName = "SecondOrder 3x3 stride 2 dilation 2")]
    public void SecondOrderMatchesFiniteDifferences(int kernel, int stride, int padding, int dilation)
    {
        var rng = new Random(15);
        var x = Numeric.RandomDouble(rng, 2, 2, 6, 5);
        var w1 = F.Mul(Numeric.RandomDouble(rng, 3, 2, kernel, kernel), 0.5).Detach();
        var b1 = Numeric.RandomDouble(rng, 3);
        var w2 = F.Mul(Numeric.RandomDouble(rng, 2, 3, kernel, kernel), 0.5).Detach();
        // conv → square → conv: the second derivative runs through both companion ops of each convolution.
        GradCheck.CheckSecondOrder(t =>
        {
            var y = F.Conv2d(t[0], t[1], t[2], stride, padding, dilation);
            return F.Conv2d(F.Mul(y, y), t[3], null, 1, padding, 1);
        }, [x, w1, b1, w2]);
        // A bare convolution: only the cross terms (x, w) of the Hessian are non-zero.
        GradCheck.CheckSecondOrder(t => F.Conv2d(t[0], t[1], t[2], stride, padding, dilation),
            [Numeric.RandomDouble(rng, 1, 2, 5, 6), Numeric.RandomDouble(rng, 3, 2, kernel, kernel), Numeric.RandomDouble(rng, 3)]);
    }

    // The second configuration has enough input channels for backward-data to run as a forward convolution, and a map
    // small enough for its three images to share one GEMM.
    [TestCase(3, 8, 23, 21, 6)]
    [TestCase(3, 17, 9, 11, 20)]
    public void ResultsDoNotDependOnThreadCount(int batch, int channels, int height, int width, int outChannels)
    {
        var rng = new Random(16);
        var c = new Config(batch, channels, height, width, outChannels, 3, 3, 1, 2, 2, true);
        var x = Numeric.RandomFloat(rng, c.B, c.C, c.H, c.W);
        var w = Numeric.RandomFloat(rng, c.K, c.C, c.R, c.S);
        var b = Numeric.RandomFloat(rng, c.K);
        double[][] Run()
        {
            var xs = x.Detach(); var ws = w.Detach(); var bs = b.Detach();
            xs.RequiresGrad = ws.RequiresGrad = bs.RequiresGrad = true;
            var y = F.Conv2d(xs, ws, bs, c.Stride, c.Padding, c.Dilation);
            var yv = y.ToDoubleArray();
            F.Sum(F.Mul(y, y)).Backward();
            return [yv, xs.Grad!.ToDoubleArray(), ws.Grad!.ToDoubleArray(), bs.Grad!.ToDoubleArray()];
        }
        ThreadCount.AssertSameOnOneAndTwoThreads(Run);
    }

    [TestCase(1)]
    [TestCase(50)]
    public void ImagesSplitIntoBandsGiveTheSameResult(int bandElements)
    {
        var rng = new Random(18);
        var c = new Config(2, 3, 11, 9, 4, 3, 3, 2, 2, 2, true);
        var (x, w, b, gy, expected, gxRef, gwRef) = RandomProblemWithReferences(c, rng);
        int previous = Conv2dKernels.MaxBandElements, previousColumns = Conv2dKernels.MinBandColumns;
        Conv2dKernels.MaxBandElements = bandElements;
        Conv2dKernels.MinBandColumns = 1;
        try
        {
            Numeric.AssertClose(expected, F.Conv2d(x, w, b, c.Stride, c.Padding, c.Dilation).ToDoubleArray(), 1e-12, 1e-12, "banded forward");
            Numeric.AssertClose(gxRef, F.Conv2dInputGrad(gy, w, c.H, c.W, c.Stride, c.Padding, c.Dilation).ToDoubleArray(), 1e-12, 1e-12, "banded input grad");
            Numeric.AssertClose(gwRef, F.Conv2dWeightGrad(x, gy, c.R, c.S, c.Stride, c.Padding, c.Dilation).ToDoubleArray(), 1e-11, 1e-12, "banded weight grad");
        }
        finally
        {
            Conv2dKernels.MaxBandElements = previous;
            Conv2dKernels.MinBandColumns = previousColumns;
        }
    }

    [TestCase(2, DType.Float32)]
    [TestCase(3, DType.Float32)]
    [TestCase(2, DType.Float64)]
    public void ImagesGroupedIntoOneGemmMatchFloat64Loops(int imagesPerGemm, DType dtype)
    {
        // Five images in groups of two or three (the last group shorter): small maps share one GEMM in every pass.
        var rng = new Random(19);
        var c = new Config(5, 3, 9, 7, 4, 3, 3, 2, 2, 2, true);
        var (x, w, b, gy, expected, gxRef, gwRef) = RandomProblemWithReferences(c, rng);
        int p = gy.Shape[2], q = gy.Shape[3];
        int previousColumns = Conv2dKernels.MinBandColumns;
        Conv2dKernels.MinBandColumns = imagesPerGemm * p * q;
        try
        {
            double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
            Tensor xs = x.To(dtype), ws = w.To(dtype), bs = b.To(dtype), gys = gy.To(dtype);
            Numeric.AssertClose(expected, F.Conv2d(xs, ws, bs, c.Stride, c.Padding, c.Dilation).ToDoubleArray(), tol, tol, "grouped forward");
            Numeric.AssertClose(gxRef, F.Conv2dInputGrad(gys, ws, c.H, c.W, c.Stride, c.Padding, c.Dilation).ToDoubleArray(), tol, tol, "grouped input grad");
            Numeric.AssertClose(gwRef, F.Conv2dWeightGrad(xs, gys, c.R, c.S, c.Stride, c.Padding, c.Dilation).ToDoubleArray(), tol * 10, tol, "grouped weight grad");
        }
        finally
        {
            Conv2dKernels.MinBandColumns = previousColumns;
        }
    }

    [TestCase(1, 1, 512)]
    [TestCase(1, 1, 1)]
    [TestCase(2, 2, 512)]
    [TestCase(0, 1, 512)]
    public void StrideOneBackwardDataWithManyChannelsMatchesFloat64Loops(int padding, int dilation, int minBandColumns)
    {
        // 17 input channels: float32 backward-data runs as a forward convolution with flipped weights (images grouped into
        // one GEMM with the default 512 columns, one image per GEMM with 1).
        var rng = new Random(20);
        var c = new Config(3, 17, 9, 11, 5, 3, 3, 1, padding, dilation, false);
        var x = Numeric.RandomDouble(rng, c.B, c.C, c.H, c.W);
        var w = Numeric.RandomDouble(rng, c.K, c.C, c.R, c.S);
        Reference(c, x.ToDoubleArray(), w.ToDoubleArray(), null, out int p, out int q);
        var gy = Numeric.RandomDouble(rng, c.B, c.K, p, q);
        ReferenceBackward(c, x.ToDoubleArray(), w.ToDoubleArray(), gy.ToDoubleArray(), p, q, out var gxRef, out _);
        int previousColumns = Conv2dKernels.MinBandColumns;
        Conv2dKernels.MinBandColumns = minBandColumns;
        try
        {
            var gx32 = F.Conv2dInputGrad(gy.To(DType.Float32), w.To(DType.Float32), c.H, c.W, c.Stride, c.Padding, c.Dilation);
            Numeric.AssertClose(gxRef, gx32.ToDoubleArray(), 2e-6 * Math.Sqrt(c.K * c.R * c.S), 1e-5, "float32 input grad");
        }
        finally
        {
            Conv2dKernels.MinBandColumns = previousColumns;
        }
    }

    [Test]
    public void NonContiguousInputGivesTheSameResult()
    {
        var rng = new Random(17);
        var x = Numeric.RandomDouble(rng, 2, 5, 6, 7);
        var w = Numeric.RandomDouble(rng, 3, 2, 3, 3);
        var view = F.Narrow(x, 1, 1, 2);
        var dense = view.Detach();
        Numeric.AssertClose(F.Conv2d(dense, w, null, 1, 1).ToDoubleArray(), F.Conv2d(view, w, null, 1, 1).ToDoubleArray(), 0, 0, "strided input");
    }

    [Test]
    public void BadShapesFailClearly()
    {
        var x = Tensor.Zeros([1, 3, 8, 8]);
        Assert.That(Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros([4, 2, 3, 3]), null))!.Message,
            Does.Contain("conv2d").And.Contain("input channels").And.Contain("[1x3x8x8]"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros([4, 3, 3, 3]), Tensor.Zeros([3])))!.Message,
            Does.Contain("bias").And.Contain("[4]"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros([3, 8, 8]), Tensor.Zeros([4, 3, 3, 3]), null))!.Message,
            Does.Contain("rank 4"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros([1, 3, 4, 4]), Tensor.Zeros([4, 3, 3, 3]), null, dilation: 2))!.Message,
            Does.Contain("dilation 2").And.Contain("larger than the padded input"));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.Conv2d(x, Tensor.Zeros([4, 3, 3, 3]), null, stride: 0));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros([4, 3, 3, 3], DType.Float64), null))!.Message,
            Does.Contain("dtypes differ"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Conv2dInputGrad(Tensor.Zeros([1, 4, 5, 5]), Tensor.Zeros([4, 3, 3, 3]), 8, 8, 1, 1))!.Message,
            Does.Contain("conv2d_input_grad").And.Contain("8x8 output"));
    }

    // ---------------------------------------------------------------- float64 oracles: the definition, loop by loop

    /// <summary>Random float64 x, w, bias and output gradient for <paramref name="c"/> (drawn in that order from
    /// <paramref name="rng"/>), with the loop oracles' output y and gradients gx, gw.</summary>
    private static (Tensor X, Tensor W, Tensor B, Tensor Gy, double[] Y, double[] Gx, double[] Gw) RandomProblemWithReferences(Config c, Random rng)
    {
        var x = Numeric.RandomDouble(rng, c.B, c.C, c.H, c.W);
        var w = Numeric.RandomDouble(rng, c.K, c.C, c.R, c.S);
        var b = Numeric.RandomDouble(rng, c.K);
        var y = Reference(c, x.ToDoubleArray(), w.ToDoubleArray(), b.ToDoubleArray(), out int p, out int q);
        var gy = Numeric.RandomDouble(rng, c.B, c.K, p, q);
        ReferenceBackward(c, x.ToDoubleArray(), w.ToDoubleArray(), gy.ToDoubleArray(), p, q, out var gx, out var gw);
        return (x, w, b, gy, y, gx, gw);
    }

    internal static double[] Reference(Config c, double[] x, double[] w, double[]? b, out int p, out int q)
    {
        p = (c.H + 2 * c.Padding - c.Dilation * (c.R - 1) - 1) / c.Stride + 1;
        q = (c.W + 2 * c.Padding - c.Dilation * (c.S - 1) - 1) / c.Stride + 1;
        var y = new double[c.B * c.K * p * q];
        for (int n = 0; n < c.B; n++)
        for (int k = 0; k < c.K; k++)
        for (int i = 0; i < p; i++)
        for (int j = 0; j < q; j++)
        {
            double s = b?[k] ?? 0;
            for (int ch = 0; ch < c.C; ch++)
            for (int r = 0; r < c.R; r++)
            for (int t = 0; t < c.S; t++)
            {
                int h = i * c.Stride - c.Padding + r * c.Dilation, ww = j * c.Stride - c.Padding + t * c.Dilation;
                if (h < 0 || h >= c.H || ww < 0 || ww >= c.W) continue;
                s += x[((n * c.C + ch) * c.H + h) * c.W + ww] * w[((k * c.C + ch) * c.R + r) * c.S + t];
            }
            y[((n * c.K + k) * p + i) * q + j] = s;
        }
        return y;
    }

    internal static void ReferenceBackward(Config c, double[] x, double[] w, double[] gy, int p, int q, out double[] gx, out double[] gw)
    {
        gx = new double[x.Length];
        gw = new double[w.Length];
        for (int n = 0; n < c.B; n++)
        for (int k = 0; k < c.K; k++)
        for (int i = 0; i < p; i++)
        for (int j = 0; j < q; j++)
        {
            double g = gy[((n * c.K + k) * p + i) * q + j];
            for (int ch = 0; ch < c.C; ch++)
            for (int r = 0; r < c.R; r++)
            for (int t = 0; t < c.S; t++)
            {
                int h = i * c.Stride - c.Padding + r * c.Dilation, ww = j * c.Stride - c.Padding + t * c.Dilation;
                if (h < 0 || h >= c.H || ww < 0 || ww >= c.W) continue;
                int xi = ((n * c.C + ch) * c.H + h) * c.W + ww, wi = ((k * c.C + ch) * c.R + r) * c.S + t;
                gx[xi] += g * w[wi];
                gw[wi] += g * x[xi];
            }
        }
    }
}
