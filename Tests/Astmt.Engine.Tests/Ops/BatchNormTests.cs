using Astmt.Engine.Autograd;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

public class BatchNormTests
{
    private static readonly int[][] Shapes = [[2, 3, 4, 5], [1, 2, 7, 3], [5, 4, 1, 1], [3, 1, 45, 65]];

    public static IEnumerable<TestCaseData> ForwardCases() =>
        from s in Shapes
        from training in new[] { true, false }
        from relu in new[] { false, true }
        select new TestCaseData(s, training, relu).SetArgDisplayNames(ShapeUtil.Format(s), training ? "train" : "eval", relu ? "bn+relu" : "bn");

    [TestCaseSource(nameof(ForwardCases))]
    public void ForwardAndRunningStatisticsMatchFloat64Loops(int[] shape, bool training, bool relu)
    {
        var rng = new Random(21);
        int c = shape[1];
        var x = F.Add(F.Mul(Numeric.RandomDouble(rng, shape), 2.0), 0.7).Detach();
        var w = Numeric.RandomDouble(rng, c);
        var b = Numeric.RandomDouble(rng, c);
        var rm = F.Mul(Numeric.RandomDouble(rng, c), 0.3).Detach();
        var rv = F.Add(F.Mul(F.Mul(Numeric.RandomDouble(rng, c), Numeric.RandomDouble(rng, c)), 0.5), 0.5).Detach();
        var expected = Reference(x.ToDoubleArray(), shape, w.ToDoubleArray(), b.ToDoubleArray(), rm.ToDoubleArray(), rv.ToDoubleArray(), training, relu,
            out var rmAfter, out var rvAfter);

        var rm64 = rm.Detach(); var rv64 = rv.Detach();
        var y64 = relu ? F.BatchNormRelu2d(x, w, b, rm64, rv64, training) : F.BatchNorm2d(x, w, b, rm64, rv64, training);
        Numeric.AssertClose(expected, y64.ToDoubleArray(), 1e-12, 1e-10, "float64 output");
        Numeric.AssertClose(rmAfter, rm64.ToDoubleArray(), 1e-14, 1e-12, "running mean");
        Numeric.AssertClose(rvAfter, rv64.ToDoubleArray(), 1e-14, 1e-12, "running var");

        var rm32 = rm.To(DType.Float32); var rv32 = rv.To(DType.Float32);
        var x32 = x.To(DType.Float32); var w32 = w.To(DType.Float32); var b32 = b.To(DType.Float32);
        var y32 = relu ? F.BatchNormRelu2d(x32, w32, b32, rm32, rv32, training) : F.BatchNorm2d(x32, w32, b32, rm32, rv32, training);
        Numeric.AssertClose(expected, y32.ToDoubleArray(), 2e-5, 1e-5, "float32 output");
        Numeric.AssertClose(rvAfter, rv32.ToDoubleArray(), 1e-6, 1e-5, "float32 running var");
    }

    [Test]
    public void WithoutAffineParametersNormalisesOnly()
    {
        var rng = new Random(22);
        var x = Numeric.RandomDouble(rng, 2, 3, 4, 4);
        var expected = Reference(x.ToDoubleArray(), x.Shape, [1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1], true, false, out _, out _);
        Numeric.AssertClose(expected, F.BatchNorm2d(x, null, null, null, null, training: true).ToDoubleArray(), 1e-12, 1e-10, "no affine");
    }

    public static IEnumerable<TestCaseData> GradCases() =>
        from training in new[] { true, false }
        from relu in new[] { false, true }
        from affine in new[] { true, false }
        select new TestCaseData(training, relu, affine).SetArgDisplayNames(training ? "train" : "eval", relu ? "bn+relu" : "bn", affine ? "affine" : "plain");

    [TestCaseSource(nameof(GradCases))]
    public void GradientsMatchFiniteDifferences(bool training, bool relu, bool affine)
    {
        var rng = new Random(23);
        var (rm, rv) = RunningStats(rng, 3);
        Tensor[] inputs = affine
            ? [Numeric.RandomDouble(rng, 2, 3, 3, 4), Numeric.RandomDouble(rng, 3), Numeric.RandomDouble(rng, 3)]
            : [Numeric.RandomDouble(rng, 2, 3, 3, 4)];
        // Training passes no running statistics, so the repeated evaluations of finite differences do not change them.
        GradCheck.Check(t => Apply(t, training, relu, training ? null : rm, training ? null : rv), inputs);
    }

    [TestCaseSource(nameof(GradCases))]
    public void SecondOrderMatchesFiniteDifferences(bool training, bool relu, bool affine)
    {
        var rng = new Random(24);
        var (rm, rv) = RunningStats(rng, 2);
        Tensor[] inputs = affine
            ? [Numeric.RandomDouble(rng, 2, 2, 3, 3), Numeric.RandomDouble(rng, 2), Numeric.RandomDouble(rng, 2)]
            : [Numeric.RandomDouble(rng, 2, 2, 3, 3)];
        // Squaring the output makes every second derivative (x–x, x–weight, weight–bias…) non-trivial.
        GradCheck.CheckSecondOrder(t =>
        {
            var y = Apply(t, training, relu, training ? null : rm, training ? null : rv);
            return F.Mul(y, y);
        }, inputs);
    }

    [TestCase(true, false)]
    [TestCase(true, true)]
    [TestCase(false, true)]
    public void FusedBackwardAgreesWithTheDifferentiablePath(bool training, bool relu)
    {
        var rng = new Random(25);
        var (rm, rv) = RunningStats(rng, 4);
        var x = Numeric.RandomDouble(rng, 3, 4, 5, 6);
        var w = Numeric.RandomDouble(rng, 4);
        var b = Numeric.RandomDouble(rng, 4);
        var gy = Numeric.RandomDouble(rng, 3, 4, 5, 6);
        x.RequiresGrad = w.RequiresGrad = b.RequiresGrad = true;
        double[][] Grads(bool createGraph)
        {
            var y = Apply([x, w, b], training, relu, training ? null : rm, training ? null : rv);
            var g = Autograd.Autograd.Grad([y], [x, w, b], [gy], createGraph: createGraph);
            var r = g.Select(t => t!.ToDoubleArray()).ToArray();
            Autograd.Autograd.ReleaseStep();
            return r;
        }
        var fused = Grads(false);
        var composed = Grads(true);
        for (int i = 0; i < 3; i++) Numeric.AssertClose(composed[i], fused[i], 1e-12, 1e-9, $"gradient {i}");
    }

    [TestCase(true, false)]
    [TestCase(true, true)]
    [TestCase(false, true)]
    public void Float32BackwardAgreesWithFloat64(bool training, bool relu)
    {
        var rng = new Random(27);
        var (rm, rv) = RunningStats(rng, 5);
        // 13·17 elements per plane: vector bodies and scalar tails both run.
        var x = F.Add(F.Mul(Numeric.RandomDouble(rng, 3, 5, 13, 17), 3.0), 1.5).Detach();
        var w = Numeric.RandomDouble(rng, 5);
        var b = Numeric.RandomDouble(rng, 5);
        var gy = Numeric.RandomDouble(rng, 3, 5, 13, 17);
        double[][] Grads(DType dtype)
        {
            Tensor xs = x.To(dtype), ws = w.To(dtype), bs = b.To(dtype);
            xs.RequiresGrad = ws.RequiresGrad = bs.RequiresGrad = true;
            var y = Apply([xs, ws, bs], training, relu, training ? null : rm.To(dtype), training ? null : rv.To(dtype));
            var r = Autograd.Autograd.Grad([y], [xs, ws, bs], [gy.To(dtype)]).Select(t => t!.ToDoubleArray()).ToArray();
            Autograd.Autograd.ReleaseStep();
            return r;
        }
        var g64 = Grads(DType.Float64);
        var g32 = Grads(DType.Float32);
        string[] names = ["input", "weight", "bias"];
        for (int i = 0; i < 3; i++) Numeric.AssertClose(g64[i], g32[i], i == 0 ? 2e-5 : 2e-4, 1e-4, $"float32 {names[i]} gradient");
    }

    /// <summary>The CPU training forward computes statistics, invstd and y per channel in one pass; it must give exactly what
    /// the statistics kernel, the op's 1/√(var + eps) and the normalisation kernel give one after the other.</summary>
    [TestCase(true, true)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    public void OnePassTrainingForwardEqualsStatisticsThenNormalize(bool relu, bool affine)
    {
        const int batch = 3, channels = 4, hw = 517;
        const double eps = 1e-5;
        var rng = new Random(28);
        var x = new float[batch * channels * hw];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * 3 - 1);
        float[]? weight = affine ? [0.5f, -1.25f, 2f, 0.7f] : null, bias = affine ? [0.1f, 0.2f, -0.3f, 0f] : null;

        float[] mean = new float[channels], variance = new float[channels], invstd = new float[channels], y = new float[x.Length];
        BatchNormKernels.Statistics(x, 0, batch, channels, hw, mean, variance);
        for (int c = 0; c < channels; c++) invstd[c] = (float)(1 / Math.Sqrt(variance[c] + eps));
        BatchNormKernels.Normalize(x, 0, y, batch, channels, hw, mean, invstd, weight, 0, bias, 0, relu);

        float[] mean1 = new float[channels], variance1 = new float[channels], invstd1 = new float[channels], y1 = new float[x.Length];
        BatchNormKernels.StatisticsAndNormalize(x, 0, y1, batch, channels, hw, eps, mean1, variance1, invstd1, weight, 0, bias, 0, relu);

        Assert.That(mean1, Is.EqualTo(mean), "mean");
        Assert.That(variance1, Is.EqualTo(variance), "variance");
        Assert.That(invstd1, Is.EqualTo(invstd), "invstd");
        Assert.That(y1, Is.EqualTo(y), "y");
    }

    /// <summary>The CPU backward of BN+ReLU recomputes the ReLU mask from x instead of reading y. It must be the very same
    /// mask: gradients bit-identical to the backward that reads y > 0 from the forward's output, also for inputs whose
    /// pre-activation is exactly zero or one ulp either side of it, in the vector body and in the tails (hw = 1037).</summary>
    [TestCase(true)]
    [TestCase(false)]
    public void ReluMaskRecomputedFromTheInputIsTheForwardsMask(bool training)
    {
        const int batch = 2, channels = 3, hw = 1037;
        var rng = new Random(27);
        float[] mean = [0.5f, -0.25f, 0.1f], invstd = [2f, 4f, 1.37f], weight = [1f, 0.5f, -0.8f], bias = [-1f, 0.5f, 0.3f];
        var x = new float[batch * channels * hw];
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
            {
                float scale = invstd[c] * weight[c], shift = bias[c] - mean[c] * scale;
                // Where x·scale + shift is exactly zero for the first two channels (scale and shift are powers of two).
                float zeroAt = -shift / scale;
                for (int i = 0; i < hw; i++)
                {
                    int at = (b * channels + c) * hw + i;
                    x[at] = (i % 4) switch
                    {
                        0 => zeroAt,
                        1 => MathF.BitIncrement(zeroAt),
                        2 => MathF.BitDecrement(zeroAt),
                        _ => (float)(rng.NextDouble() * 4 - 2),
                    };
                }
            }
        var gy = new float[x.Length];
        for (int i = 0; i < gy.Length; i++) gy[i] = (float)(rng.NextDouble() * 2 - 1);
        var y = new float[x.Length];
        BatchNormKernels.Normalize(x, 0, y, batch, channels, hw, mean, invstd, weight, 0, bias, 0, relu: true);
        Assert.That(y.Count(v => v == 0f), Is.GreaterThan(x.Length / 4), "the inputs straddle the ReLU's kink");

        float[] gxRead = new float[x.Length], gwRead = new float[channels], gbRead = new float[channels];
        float[] gxRecomputed = new float[x.Length], gwRecomputed = new float[channels], gbRecomputed = new float[channels];
        BatchNormKernels.Backward(x, 0, y, gy, 0, batch, channels, hw, mean, invstd, weight, 0, training, gxRead, gwRead, gbRead);
        BatchNormKernels.Backward(x, 0, null, gy, 0, batch, channels, hw, mean, invstd, weight, 0, training, gxRecomputed, gwRecomputed, gbRecomputed,
            reluFromInput: true, bias: bias);

        Assert.That(gxRecomputed, Is.EqualTo(gxRead), "input gradient");
        Assert.That(gwRecomputed, Is.EqualTo(gwRead), "weight gradient");
        Assert.That(gbRecomputed, Is.EqualTo(gbRead), "bias gradient");
    }

    [Test]
    public void ResultsDoNotDependOnThreadCount()
    {
        var rng = new Random(26);
        // 16 channels of 3×52×68: large enough that the kernels split over two threads (64K elements per part).
        var x = Numeric.RandomFloat(rng, 3, 16, 52, 68);
        var w = Numeric.RandomFloat(rng, 16);
        var b = Numeric.RandomFloat(rng, 16);
        double[][] Run()
        {
            var xs = x.Detach(); var ws = w.Detach(); var bs = b.Detach();
            var rm = Tensor.Zeros([16]); var rv = Tensor.Ones([16]);
            xs.RequiresGrad = ws.RequiresGrad = bs.RequiresGrad = true;
            var y = F.BatchNormRelu2d(xs, ws, bs, rm, rv, training: true);
            var yv = y.ToDoubleArray();
            F.Sum(F.Mul(y, y)).Backward();
            return [yv, rm.ToDoubleArray(), rv.ToDoubleArray(), xs.Grad!.ToDoubleArray(), ws.Grad!.ToDoubleArray(), bs.Grad!.ToDoubleArray()];
        }
        ThreadCount.AssertSameOnOneAndTwoThreads(Run);
    }

    [Test]
    public void BadInputFailsClearly()
    {
        var x = Tensor.Zeros([2, 3, 4, 4]);
        Assert.That(Assert.Throws<ArgumentException>(() => F.BatchNorm2d(x, Tensor.Ones([4]), null, null, null, true))!.Message,
            Does.Contain("batch_norm").And.Contain("weight").And.Contain("[3]"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.BatchNorm2d(x, null, null, null, null, training: false))!.Message,
            Does.Contain("evaluation mode needs running_mean"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.BatchNormRelu2d(Tensor.Zeros([1, 3, 1, 1]), null, null, null, null, true))!.Message,
            Does.Contain("more than 1 value per channel"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.BatchNorm2d(Tensor.Zeros([2, 3, 4]), null, null, null, null, true))!.Message,
            Does.Contain("rank-4"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.BatchNorm2d(x, null, null, Tensor.Zeros([3], DType.Float64), Tensor.Ones([3], DType.Float64), true))!.Message,
            Does.Contain("dtypes differ"));
    }

    private static Tensor Apply(Tensor[] t, bool training, bool relu, Tensor? rm, Tensor? rv)
    {
        Tensor? w = t.Length > 1 ? t[1] : null, b = t.Length > 2 ? t[2] : null;
        return relu ? F.BatchNormRelu2d(t[0], w, b, rm, rv, training) : F.BatchNorm2d(t[0], w, b, rm, rv, training);
    }

    private static (Tensor Mean, Tensor Var) RunningStats(Random rng, int c) =>
        (F.Mul(Numeric.RandomDouble(rng, c), 0.3).Detach(), F.Add(F.Mul(F.Mul(Numeric.RandomDouble(rng, c), Numeric.RandomDouble(rng, c)), 0.5), 0.8).Detach());

    // ---------------------------------------------------------------- float64 oracle

    private static double[] Reference(double[] x, int[] shape, double[] w, double[] b, double[] rm, double[] rv, bool training, bool relu,
        out double[] rmAfter, out double[] rvAfter)
    {
        int n = shape[0], c = shape[1], hw = shape[2] * shape[3];
        var y = new double[x.Length];
        rmAfter = (double[])rm.Clone();
        rvAfter = (double[])rv.Clone();
        for (int ch = 0; ch < c; ch++)
        {
            double mean, var;
            if (training)
            {
                double s = 0, count = n * hw;
                for (int i = 0; i < n; i++) for (int j = 0; j < hw; j++) s += x[(i * c + ch) * hw + j];
                mean = s / count;
                double ss = 0;
                for (int i = 0; i < n; i++) for (int j = 0; j < hw; j++) ss += Math.Pow(x[(i * c + ch) * hw + j] - mean, 2);
                var = ss / count;
                rmAfter[ch] = 0.9 * rm[ch] + 0.1 * mean;
                rvAfter[ch] = 0.9 * rv[ch] + 0.1 * ss / (count - 1);
            }
            else { mean = rm[ch]; var = rv[ch]; }
            for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++)
            {
                int k = (i * c + ch) * hw + j;
                double v = (x[k] - mean) / Math.Sqrt(var + 1e-5) * w[ch] + b[ch];
                y[k] = relu ? Math.Max(v, 0) : v;
            }
        }
        return y;
    }
}
