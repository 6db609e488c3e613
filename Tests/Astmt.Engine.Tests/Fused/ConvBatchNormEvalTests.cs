using Astmt.Engine.NN;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Engine.Tests.Fused;

/// <summary>The fused evaluation-mode Conv+BN(+ReLU) op equals the convolution followed by the evaluation-mode batch norm.</summary>
public class ConvBatchNormEvalTests
{
    // Running statistics and affine parameters as after training (variance in [0.5, 1.5)).
    private static (Tensor Gamma, Tensor Beta, Tensor Mean, Tensor Variance) Statistics(Random rng, int k, bool float64)
    {
        Tensor Make(double lo, double hi)
        {
            var v = new double[k];
            for (int i = 0; i < k; i++) v[i] = lo + (hi - lo) * rng.NextDouble();
            return float64 ? Tensor.FromArray(v, k) : Tensor.FromArray(Array.ConvertAll(v, d => (float)d), k);
        }
        return (Make(0.5, 1.5), Make(-1, 1), Make(-1, 1), Make(0.5, 1.5));
    }

    [TestCase(true, true, 1, 1, false)]
    [TestCase(false, true, 2, 1, false)]
    [TestCase(true, false, 1, 2, false)]
    [TestCase(false, false, 1, 1, true)]
    [TestCase(true, true, 2, 1, true)]
    public void EqualsTheConvolutionThenTheEvalBatchNorm(bool relu, bool convBias, int stride, int dilation, bool float64)
    {
        var rng = new Random(41);
        Tensor Random(params int[] shape) => float64 ? Numeric.RandomDouble(rng, shape) : Numeric.RandomFloat(rng, shape);
        var x = Random(2, 3, 11, 9);
        var w = Random(5, 3, 3, 3);
        var b = convBias ? Random(5) : null;
        var (gamma, beta, mean, variance) = Statistics(rng, 5, float64);
        using var noGrad = AG.NoGrad();
        var conv = F.Conv2d(x, w, b, stride, dilation, dilation);
        var expected = relu
            ? F.BatchNormRelu2d(conv, gamma, beta, mean, variance, training: false, eps: 1e-5)
            : F.BatchNorm2d(conv, gamma, beta, mean, variance, training: false, eps: 1e-5);
        var actual = F.Conv2dBatchNormEval(x, w, b, gamma, beta, mean, variance, 1e-5, relu, stride, dilation, dilation);
        if (float64) Numeric.AssertClose(expected, actual, 1e-12, 1e-12, "fused conv+bn");
        else Numeric.AssertClose(expected, actual, 1e-5, 1e-4, "fused conv+bn");
    }

    [Test]
    public void AnEvalSequentialRunsFusedAndSeesInPlaceUpdatesOfTheStatistics()
    {
        var rng = new Random(42);
        var conv = new Conv2d(3, 4, 3, padding: 1);
        var bn = new BatchNorm2d(4);
        var seq = new Sequential(conv, bn, new ReLU(), new Conv2d(4, 2, 1), new BatchNorm2d(2));
        seq.Eval();
        var x = Numeric.RandomFloat(rng, 1, 3, 6, 7);
        Tensor Unfused()
        {
            var h = F.BatchNormRelu2d(F.Conv2d(x, conv.Weight, conv.Bias, 1, 1), bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar, training: false);
            var last = (Conv2d)seq[3];
            var lastBn = (BatchNorm2d)seq[4];
            return F.BatchNorm2d(F.Conv2d(h, last.Weight, last.Bias), lastBn.Weight, lastBn.Bias, lastBn.RunningMean, lastBn.RunningVar, training: false);
        }
        using var noGrad = AG.NoGrad();
        Numeric.AssertClose(Unfused(), seq.Forward(x), 1e-5, 1e-4, "fresh statistics");
        var (gamma, beta, mean, variance) = Statistics(rng, 4, float64: false);
        bn.Weight!.CopyFrom(gamma);
        bn.Bias!.CopyFrom(beta);
        bn.RunningMean!.CopyFrom(mean);
        bn.RunningVar!.CopyFrom(variance);
        Numeric.AssertClose(Unfused(), seq.Forward(x), 1e-5, 1e-4, "statistics updated in place");
    }

    [Test]
    public void RecordingThroughItFailsClearly()
    {
        var rng = new Random(43);
        var x = Numeric.RandomFloat(rng, 1, 2, 4, 4);
        x.RequiresGrad = true;
        var w = Numeric.RandomFloat(rng, 3, 2, 1, 1);
        var (gamma, beta, mean, variance) = Statistics(rng, 3, float64: false);
        var e = Assert.Throws<InvalidOperationException>(() => F.Conv2dBatchNormEval(x, w, null, gamma, beta, mean, variance, 1e-5, relu: true));
        Assert.That(e!.Message, Does.Contain("conv2d_batch_norm_eval").And.Contain("recorded"));
        AG.ReleaseStep();
    }
}
