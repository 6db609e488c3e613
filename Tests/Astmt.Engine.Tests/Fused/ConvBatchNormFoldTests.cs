using Astmt.Engine.NN;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Fused;

/// <summary>Module-level Conv+BN folding equals the evaluation-mode convolution followed by batch norm.</summary>
public class ConvBatchNormFoldTests
{
    // Gives a batch norm non-trivial running statistics and affine parameters, as after training.
    private static void Randomize(BatchNorm2d bn, Random rng)
    {
        int c = bn.NumFeatures;
        bn.Weight!.CopyFrom(Numeric.RandomFloat(rng, c));
        bn.Bias!.CopyFrom(Numeric.RandomFloat(rng, c));
        bn.RunningMean!.CopyFrom(Numeric.RandomFloat(rng, c));
        bn.RunningVar!.CopyFrom(F.Add(F.Mul(Numeric.RandomFloat(rng, c), Numeric.RandomFloat(rng, c)), 0.5).Detach());
    }

    [TestCase(true, 1, 1)]
    [TestCase(false, 2, 1)]
    [TestCase(true, 1, 2)]
    public void FoldedConvolutionEqualsEvalConvThenBatchNorm(bool bias, int stride, int dilation)
    {
        var rng = new Random(31);
        var conv = new Conv2d(3, 5, 3, stride, padding: dilation, dilation: dilation, bias: bias);
        var bn = new BatchNorm2d(5);
        Randomize(bn, rng);
        bn.Eval();
        var x = Numeric.RandomFloat(rng, 2, 3, 11, 9);
        using var noGrad = Autograd.Autograd.NoGrad();
        var expected = bn.Forward(conv.Forward(x));
        var folded = ConvBatchNormFold.Fold(conv, bn);
        Assert.That(folded.Bias, Is.Not.Null);
        Numeric.AssertClose(expected, folded.Forward(x), 1e-5, 1e-4, "folded conv");
    }

    [Test]
    public void FoldedSequentialEqualsEvalSequentialAndKeepsLayerIndices()
    {
        var rng = new Random(32);
        var seq = new Sequential(new Conv2d(3, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(),
            new Sequential(new Conv2d(4, 6, 1), new BatchNorm2d(6), new Astmt.Engine.NN.Sigmoid()));
        Randomize((BatchNorm2d)seq[1], rng);
        Randomize((BatchNorm2d)((Sequential)seq[3])[1], rng);
        seq.Eval();
        var x = Numeric.RandomFloat(rng, 2, 3, 7, 10);
        using var noGrad = Autograd.Autograd.NoGrad();
        var expected = seq.Forward(x);
        var folded = ConvBatchNormFold.Fold(seq);
        Assert.That(folded.Count, Is.EqualTo(seq.Count));
        Assert.That(folded[1], Is.InstanceOf<Identity>());
        Assert.That(((Sequential)folded[3])[1], Is.InstanceOf<Identity>());
        Numeric.AssertClose(expected, folded.Forward(x), 1e-5, 1e-4, "folded sequential");
    }

    [Test]
    public void BatchNormWithoutRunningStatisticsFailsClearly()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => ConvBatchNormFold.Fold(new Conv2d(2, 3, 1), new BatchNorm2d(3, trackRunningStats: false)));
        Assert.That(ex!.Message, Does.Contain("running statistics"));
    }
}
