using Astmt.Engine.NN;
using NUnit.Framework;

namespace Astmt.Engine.Tests.NN;

public class InitTests
{
    private static (double Mean, double Std, double Min, double Max) Stats(Tensor t)
    {
        var v = t.ToDoubleArray();
        double mean = v.Average();
        double var = v.Sum(x => (x - mean) * (x - mean)) / v.Length;
        return (mean, Math.Sqrt(var), v.Min(), v.Max());
    }

    [Test]
    public void FansFollowPyTorch()
    {
        Assert.That(Init.Fans(Tensor.Zeros([64, 3, 3, 3])), Is.EqualTo((27, 576)));
        Assert.That(Init.Fans(Tensor.Zeros([10, 20])), Is.EqualTo((20, 10)));
        Assert.That(() => Init.Fans(Tensor.Zeros([5])), Throws.ArgumentException.With.Message.Contains("at least 2 dimensions"));
    }

    [Test]
    public void XavierNormalHasGlorotStd()
    {
        var w = Init.XavierNormal(Tensor.Zeros([256, 128, 3, 3]), generator: new Generator(1));
        var (mean, std, _, _) = Stats(w);
        double expected = Math.Sqrt(2.0 / (128 * 9 + 256 * 9));
        Assert.That(mean, Is.EqualTo(0).Within(0.01 * expected));
        Assert.That(std, Is.EqualTo(expected).Within(0.01 * expected));
    }

    [Test]
    public void XavierNormalGainScalesTheStd()
    {
        var w = Init.XavierNormal(Tensor.Zeros([200, 300]), gain: 2.5, generator: new Generator(2));
        Assert.That(Stats(w).Std, Is.EqualTo(2.5 * Math.Sqrt(2.0 / 500)).Within(0.01 * 2.5 * Math.Sqrt(2.0 / 500)));
    }

    [Test]
    public void XavierUniformStaysInItsBoundAndHasUniformVariance()
    {
        var w = Init.XavierUniform(Tensor.Zeros([128, 64, 3, 3]), generator: new Generator(3));
        double bound = Math.Sqrt(6.0 / (64 * 9 + 128 * 9));
        var (mean, std, min, max) = Stats(w);
        Assert.That(min, Is.GreaterThanOrEqualTo(-bound));
        Assert.That(max, Is.LessThanOrEqualTo(bound));
        Assert.That(min, Is.LessThan(-0.99 * bound), "the samples should reach the ends of the interval");
        Assert.That(max, Is.GreaterThan(0.99 * bound));
        Assert.That(mean, Is.EqualTo(0).Within(0.01 * bound));
        Assert.That(std, Is.EqualTo(bound / Math.Sqrt(3)).Within(0.01 * bound));
    }

    [Test]
    public void KaimingNormalUsesFanInAndReluGain()
    {
        var w = Init.KaimingNormal(Tensor.Zeros([96, 128, 3, 3]), generator: new Generator(4));
        Assert.That(Stats(w).Std, Is.EqualTo(Math.Sqrt(2.0 / (128 * 9))).Within(0.01 * Math.Sqrt(2.0 / (128 * 9))));
        var o = Init.KaimingNormal(Tensor.Zeros([96, 128, 3, 3]), mode: FanMode.FanOut, nonlinearity: "relu", generator: new Generator(4));
        Assert.That(Stats(o).Std, Is.EqualTo(Math.Sqrt(2.0 / (96 * 9))).Within(0.01 * Math.Sqrt(2.0 / (96 * 9))));
    }

    [Test]
    public void NormalUniformAndConstantsFill()
    {
        var n = Init.Normal(Tensor.Zeros([100_000], DType.Float64), 1.5, 0.2, new Generator(5));
        var (mean, std, _, _) = Stats(n);
        Assert.That(mean, Is.EqualTo(1.5).Within(0.002));
        Assert.That(std, Is.EqualTo(0.2).Within(0.002));
        var u = Init.Uniform(Tensor.Zeros([100_000]), -3, 1, new Generator(6));
        var su = Stats(u);
        Assert.That(su.Min, Is.GreaterThanOrEqualTo(-3));
        Assert.That(su.Max, Is.LessThan(1));
        Assert.That(su.Mean, Is.EqualTo(-1).Within(0.02));
        Assert.That(Init.Constant(Tensor.Zeros([4]), 0.25).ToDoubleArray(), Is.All.EqualTo(0.25));
        Assert.That(Init.Ones(Tensor.Zeros([3])).ToDoubleArray(), Is.All.EqualTo(1.0));
        Assert.That(Init.Zeros(Tensor.Ones([3])).ToDoubleArray(), Is.All.EqualTo(0.0));
    }

    [Test]
    public void SameGeneratorStateGivesTheSameWeights()
    {
        var g = new Generator(9);
        var state = g.GetState();
        var a = Init.XavierNormal(Tensor.Zeros([8, 4, 3, 3]), generator: g).ToDoubleArray();
        g.SetState(state);
        var b = Init.XavierNormal(Tensor.Zeros([8, 4, 3, 3]), generator: g).ToDoubleArray();
        Assert.That(b, Is.EqualTo(a));
    }

    [Test]
    public void DefaultConvAndLinearInitFollowPyTorchBounds()
    {
        var conv = new Conv2d(16, 32, 3, generator: new Generator(10));
        double bound = 1.0 / Math.Sqrt(16 * 9); // kaiming_uniform(a=√5) and the bias rule both give 1/√fan_in
        var ws = Stats(conv.Weight);
        Assert.That(ws.Min, Is.GreaterThanOrEqualTo(-bound));
        Assert.That(ws.Max, Is.LessThanOrEqualTo(bound));
        Assert.That(ws.Std, Is.EqualTo(bound / Math.Sqrt(3)).Within(0.05 * bound));
        Assert.That(Stats(conv.Bias!).Max, Is.LessThanOrEqualTo(bound));
        var linear = new Linear(50, 20, generator: new Generator(11));
        Assert.That(Stats(linear.Weight).Max, Is.LessThanOrEqualTo(1.0 / Math.Sqrt(50)));
        Assert.That(Stats(linear.Bias!).Min, Is.GreaterThanOrEqualTo(-1.0 / Math.Sqrt(50)));
    }

    [Test]
    public void IntegerTensorsAreRejectedBySamplers()
    {
        Assert.That(() => Init.Normal(Tensor.Zeros([3], DType.Int64)), Throws.ArgumentException.With.Message.Contains("Init.Normal"));
    }

    [Test]
    public void SkipScopeLeavesTensorsUntouchedAndEnds()
    {
        var t = Tensor.Full([4], 7.0);
        using (Init.Skip())
        {
            Init.XavierNormal(Tensor.Zeros([2, 2]));
            Init.Normal(t);
            Init.Constant(t, 1.0);
        }
        Assert.That(t.ToDoubleArray(), Is.All.EqualTo(7.0));
        Assert.That(Init.IsSkipping, Is.False);
        Init.Constant(t, 1.0);
        Assert.That(t.ToDoubleArray(), Is.All.EqualTo(1.0));
    }
}
