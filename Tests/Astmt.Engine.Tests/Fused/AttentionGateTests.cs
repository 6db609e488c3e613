using Astmt.Engine.Cpu;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using Astmt.Engine.Tests.Ops;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Fused;

/// <summary>The fused MTAN attention gate against the chain conv1x1 → BN → sigmoid → multiply built from separate ops.</summary>
public class AttentionGateTests
{
    private static Tensor Chain(Tensor h, Tensor w, Tensor? b, Tensor? gamma, Tensor? beta, Tensor? rm, Tensor? rv, bool training, Tensor shared) =>
        F.Mul(F.Sigmoid(F.BatchNorm2d(F.Conv2d(h, w, b), gamma, beta, rm, rv, training)), shared);

    private static Tensor[] Inputs(Random rng, int b, int c, int k, int height, int width) =>
    [
        Numeric.RandomDouble(rng, b, c, height, width), Numeric.RandomDouble(rng, k, c, 1, 1), Numeric.RandomDouble(rng, k),
        Numeric.RandomDouble(rng, k), Numeric.RandomDouble(rng, k), Numeric.RandomDouble(rng, b, k, height, width),
    ];

    private static Tensor PositiveVariance(Random rng, int c)
    {
        var r = Numeric.RandomDouble(rng, c);
        return F.Add(F.Mul(r, r), 0.5).Detach();
    }

    [TestCase(true)]
    [TestCase(false)]
    public void MatchesTheUnfusedChainInValueGradientsAndRunningStatistics(bool training)
    {
        var rng = new Random(5);
        var x = Inputs(rng, 2, 5, 3, 5, 7);
        Tensor rmA = Numeric.RandomDouble(rng, 3), rvA = PositiveVariance(rng, 3);
        Tensor rmB = rmA.Detach(), rvB = rvA.Detach();
        foreach (var t in x) t.RequiresGrad = true;

        var expected = Chain(x[0], x[1], x[2], x[3], x[4], rmA, rvA, training, x[5]);
        var probe = Numeric.RandomDouble(new Random(9), expected.Shape);
        var expectedValue = expected.ToDoubleArray();
        var expectedGrads = Autograd.Autograd.Grad([F.Sum(F.Mul(expected, probe))], x).Select(g => g!.ToDoubleArray()).ToArray();

        var actual = F.AttentionGate(x[0], x[1], x[2], x[3], x[4], rmB, rvB, training, x[5]);
        Numeric.AssertClose(expectedValue, actual.ToDoubleArray(), 1e-12, 1e-10, "gate output");
        var grads = Autograd.Autograd.Grad([F.Sum(F.Mul(actual, probe))], x);
        for (int i = 0; i < x.Length; i++) Numeric.AssertClose(expectedGrads[i], grads[i]!.ToDoubleArray(), 1e-11, 1e-9, $"gradient of input {i}");
        Numeric.AssertClose(rmA, rmB, 1e-14, 1e-12, "running_mean");
        Numeric.AssertClose(rvA, rvB, 1e-14, 1e-12, "running_var");
    }

    [Test]
    public void Float32MatchesTheFloat64Chain()
    {
        var rng = new Random(6);
        var x = Inputs(rng, 2, 7, 5, 9, 11);
        var expected = Chain(x[0], x[1], x[2], x[3], x[4], null, null, true, x[5]);
        var x32 = x.Select(t => t.To(DType.Float32)).ToArray();
        var actual = F.AttentionGate(x32[0], x32[1], x32[2], x32[3], x32[4], null, null, true, x32[5]);
        Assert.That(actual.DType, Is.EqualTo(DType.Float32));
        Numeric.AssertClose(expected, actual, 1e-5, 1e-4, "float32 gate");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void FirstOrderGradientsMatchFiniteDifferences(bool training)
    {
        var rng = new Random(7);
        var x = Inputs(rng, 2, 3, 4, 3, 5);
        Tensor rm = Numeric.RandomDouble(rng, 4), rv = PositiveVariance(rng, 4);
        // momentum 0 keeps the running statistics fixed across the finite-difference evaluations.
        GradCheck.Check(a => F.AttentionGate(a[0], a[1], a[2], a[3], a[4], rm, rv, training, a[5], momentum: 0.0), x);
    }

    [Test]
    public void SecondOrderGradientsMatchFiniteDifferences()
    {
        var rng = new Random(8);
        var x = Inputs(rng, 2, 3, 2, 3, 4);
        GradCheck.CheckSecondOrder(a => F.AttentionGate(a[0], a[1], a[2], a[3], a[4], null, null, true, a[5]), x);
    }

    [Test]
    public void TheSameTensorAsInputAndSharedFeatureGetsTheSumOfBothGradients()
    {
        var rng = new Random(10);
        var h = Numeric.RandomDouble(rng, 2, 3, 4, 5);
        var w = Numeric.RandomDouble(rng, 3, 3, 1, 1);
        GradCheck.Check(a => F.AttentionGate(a[0], a[1], null, null, null, null, null, true, a[0]), [h, w]);
    }

    [Test]
    public void ResultDoesNotDependOnTheThreadCount()
    {
        var rng = new Random(11);
        // 48 planes of 66×82: large enough that the kernels split over two threads (64K elements per part).
        var x = Inputs(rng, 2, 16, 24, 66, 82).Select(t => t.To(DType.Float32)).ToArray();
        foreach (var t in x) t.RequiresGrad = true;
        var probe = Numeric.RandomFloat(new Random(12), 2, 24, 66, 82);
        double[][] Run()
        {
            var y = F.AttentionGate(x[0], x[1], x[2], x[3], x[4], null, null, true, x[5]);
            var outs = new List<double[]> { y.ToDoubleArray() };
            outs.AddRange(Autograd.Autograd.Grad([F.Sum(F.Mul(y, probe))], x).Select(g => g!.ToDoubleArray()));
            return outs.ToArray();
        }
        ThreadCount.AssertSameOnOneAndTwoThreads(Run);
    }

    [Test]
    public void ModuleHelperUpdatesRunningStatisticsAndCounterLikeTheModules()
    {
        var rng = new Random(13);
        var conv = new Conv2d(4, 3, 1);
        var bnA = new BatchNorm2d(3);
        var bnB = new BatchNorm2d(3);
        var h = Numeric.RandomFloat(rng, 2, 4, 5, 6);
        var shared = Numeric.RandomFloat(rng, 2, 3, 5, 6);
        var expected = F.Mul(new Astmt.Engine.NN.Sigmoid().Forward(bnA.Forward(conv.Forward(h))), shared);
        var actual = FusedLayers.AttentionGate(conv, bnB, h, shared);
        Numeric.AssertClose(expected, actual, 1e-6, 1e-5, "gate");
        Numeric.AssertClose(bnA.RunningMean!, bnB.RunningMean!, 1e-7, 1e-6, "running_mean");
        Numeric.AssertClose(bnA.RunningVar!, bnB.RunningVar!, 1e-7, 1e-6, "running_var");
        Assert.That(bnB.NumBatchesTracked!.Item(), Is.EqualTo(1));
        Autograd.Autograd.ReleaseStep();
    }

    [Test]
    public void NonPointwiseConvolutionOrMismatchedSharedFeatureFailsClearly()
    {
        var h = Tensor.Zeros([2, 4, 5, 6]);
        var ex = Assert.Throws<ArgumentException>(() => F.AttentionGate(h, Tensor.Zeros([3, 4, 3, 3]), null, null, null, null, null, true, Tensor.Zeros([2, 3, 5, 6])));
        Assert.That(ex!.Message, Does.Contain("attention_gate").And.Contain("1x1"));
        ex = Assert.Throws<ArgumentException>(() => F.AttentionGate(h, Tensor.Zeros([3, 4, 1, 1]), null, null, null, null, null, true, Tensor.Zeros([2, 4, 5, 6])));
        Assert.That(ex!.Message, Does.Contain("shared must be [B,K,H,W]"));
    }
}
