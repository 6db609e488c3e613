using Astmt.Engine.Cpu;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using Astmt.Engine.Tests.Ops;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Fused;

/// <summary>The fused squeeze-and-excitation against GAP → Linear → ReLU → Linear → sigmoid → channel scale from separate ops.</summary>
public class SqueezeExciteTests
{
    private static Tensor Chain(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2) =>
        F.ChannelScale(x, F.Sigmoid(F.Linear(F.Relu(F.Linear(F.Mean(x, [2, 3]), w1, b1)), w2, b2)));

    private static Tensor[] Inputs(Random rng, int b, int c, int r, int height, int width) =>
    [
        Numeric.RandomDouble(rng, b, c, height, width), Numeric.RandomDouble(rng, r, c), Numeric.RandomDouble(rng, r),
        Numeric.RandomDouble(rng, c, r), Numeric.RandomDouble(rng, c),
    ];

    [TestCase(true)]
    [TestCase(false)]
    public void MatchesTheUnfusedChainInValueAndGradients(bool withBias)
    {
        var rng = new Random(21);
        var x = Inputs(rng, 3, 6, 3, 5, 7);
        Tensor? b1 = withBias ? x[2] : null, b2 = withBias ? x[4] : null;
        var used = withBias ? x : [x[0], x[1], x[3]];
        foreach (var t in used) t.RequiresGrad = true;
        var expected = Chain(x[0], x[1], b1, x[3], b2);
        var probe = Numeric.RandomDouble(new Random(22), expected.Shape);
        var expectedValue = expected.ToDoubleArray();
        var expectedGrads = Autograd.Autograd.Grad([F.Sum(F.Mul(expected, probe))], used).Select(g => g!.ToDoubleArray()).ToArray();
        var actual = F.SqueezeExcite(x[0], x[1], b1, x[3], b2);
        Numeric.AssertClose(expectedValue, actual.ToDoubleArray(), 1e-13, 1e-11, "SE output");
        var grads = Autograd.Autograd.Grad([F.Sum(F.Mul(actual, probe))], used);
        for (int i = 0; i < used.Length; i++) Numeric.AssertClose(expectedGrads[i], grads[i]!.ToDoubleArray(), 1e-12, 1e-10, $"gradient of input {i}");
    }

    [Test]
    public void Float32MatchesTheFloat64Chain()
    {
        var rng = new Random(23);
        var x = Inputs(rng, 2, 19, 4, 9, 13);
        var expected = Chain(x[0], x[1], x[2], x[3], x[4]);
        var x32 = x.Select(t => t.To(DType.Float32)).ToArray();
        Numeric.AssertClose(expected, F.SqueezeExcite(x32[0], x32[1], x32[2], x32[3], x32[4]), 1e-5, 1e-4, "float32 SE");
    }

    [Test]
    public void FirstOrderGradientsMatchFiniteDifferences() =>
        GradCheck.Check(a => F.SqueezeExcite(a[0], a[1], a[2], a[3], a[4]), Inputs(new Random(24), 2, 5, 3, 3, 4));

    [Test]
    public void SecondOrderGradientsMatchFiniteDifferences() =>
        GradCheck.CheckSecondOrder(a => F.SqueezeExcite(a[0], a[1], a[2], a[3], a[4]), Inputs(new Random(25), 2, 4, 3, 3, 3));

    [Test]
    public void ResultDoesNotDependOnTheThreadCount()
    {
        var x = Inputs(new Random(26), 2, 64, 16, 24, 33).Select(t => t.To(DType.Float32)).ToArray();
        foreach (var t in x) t.RequiresGrad = true;
        var probe = Numeric.RandomFloat(new Random(27), 2, 64, 24, 33);
        double[][] Run()
        {
            var y = F.SqueezeExcite(x[0], x[1], x[2], x[3], x[4]);
            var outs = new List<double[]> { y.ToDoubleArray() };
            outs.AddRange(Autograd.Autograd.Grad([F.Sum(F.Mul(y, probe))], x).Select(g => g!.ToDoubleArray()));
            return outs.ToArray();
        }
        ThreadCount.AssertSameOnOneAndTwoThreads(Run);
    }

    [Test]
    public void MismatchedWeightsFailClearly()
    {
        var ex = Assert.Throws<ArgumentException>(() => F.SqueezeExcite(Tensor.Zeros([2, 8, 3, 3]), Tensor.Zeros([2, 8]), null, Tensor.Zeros([8, 3]), null));
        Assert.That(ex!.Message, Does.Contain("squeeze_excite").And.Contain("w2 must be [C,R] = [8x2]"));
    }
}
