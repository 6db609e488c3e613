using Astmt.Engine.Autograd;
using Astmt.Engine.NN;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.NN;

/// <summary>The layers wire their configuration and state into the F ops correctly: checked against naive float64 loops.</summary>
public class ModuleForwardTests
{
    [Test]
    public void Conv2dAppliesStridePaddingDilationAndBias()
    {
        var conv = new Conv2d(2, 3, 3, stride: 2, padding: 2, dilation: 2, generator: new Generator(1)).To(DType.Float64);
        var c = (Conv2d)conv;
        var x = Numeric.RandomDouble(new Random(2), 2, 2, 7, 9);
        var y = c.Forward(x);
        int p = (7 + 4 - 2 * 2 - 1) / 2 + 1, q = (9 + 4 - 2 * 2 - 1) / 2 + 1;
        Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, p, q }));
        var xv = x.ToDoubleArray(); var wv = c.Weight.ToDoubleArray(); var bv = c.Bias!.ToDoubleArray();
        var expected = new double[2 * 3 * p * q];
        for (int b = 0; b < 2; b++)
            for (int k = 0; k < 3; k++)
                for (int i = 0; i < p; i++)
                    for (int j = 0; j < q; j++)
                    {
                        double s = bv[k];
                        for (int ch = 0; ch < 2; ch++)
                            for (int r = 0; r < 3; r++)
                                for (int t = 0; t < 3; t++)
                                {
                                    int h = i * 2 - 2 + r * 2, w = j * 2 - 2 + t * 2;
                                    if (h >= 0 && h < 7 && w >= 0 && w < 9) s += wv[((k * 2 + ch) * 3 + r) * 3 + t] * xv[((b * 2 + ch) * 7 + h) * 9 + w];
                                }
                        expected[((b * 3 + k) * p + i) * q + j] = s;
                    }
        Numeric.AssertClose(expected, y.ToDoubleArray(), 1e-12, 1e-12, "conv module");
    }

    [Test]
    public void BatchNormTrainsOnBatchStatisticsAndEvaluatesOnRunningOnes()
    {
        var bn = new BatchNorm2d(3);
        bn.To(DType.Float64);
        Init.Uniform(bn.Weight!, 0.5, 1.5, new Generator(3));
        Init.Uniform(bn.Bias!, -0.2, 0.2, new Generator(4));
        var x = Numeric.RandomDouble(new Random(5), 4, 3, 2, 5);
        var xv = x.ToDoubleArray();
        var w = bn.Weight!.ToDoubleArray(); var b = bn.Bias!.ToDoubleArray();
        int n = 4 * 2 * 5;
        var mean = new double[3]; var var = new double[3];
        for (int c = 0; c < 3; c++)
        {
            var values = Enumerable.Range(0, 4).SelectMany(bi => Enumerable.Range(0, 10).Select(s => xv[(bi * 3 + c) * 10 + s])).ToArray();
            mean[c] = values.Average();
            var[c] = values.Sum(v => (v - mean[c]) * (v - mean[c])) / n;
        }
        Tensor y;
        using (Autograd.Autograd.NoGrad()) y = bn.Forward(x);
        var yv = y.ToDoubleArray();
        for (int i = 0; i < yv.Length; i++)
        {
            int c = i / 10 % 3;
            Assert.That(yv[i], Is.EqualTo((xv[i] - mean[c]) / Math.Sqrt(var[c] + 1e-5) * w[c] + b[c]).Within(1e-10));
        }
        // Running statistics: momentum 0.1 towards the batch mean and the unbiased batch variance.
        Assert.That(bn.RunningMean!.ToDoubleArray(), Is.EqualTo(mean.Select(m => 0.1 * m)).Within(1e-12));
        Assert.That(bn.RunningVar!.ToDoubleArray(), Is.EqualTo(var.Select(v => 0.9 + 0.1 * v * n / (n - 1))).Within(1e-12));
        Assert.That(bn.NumBatchesTracked!.Item(), Is.EqualTo(1));

        bn.Eval();
        var rm = bn.RunningMean.ToDoubleArray(); var rv = bn.RunningVar.ToDoubleArray();
        using (Autograd.Autograd.NoGrad()) y = bn.Forward(x);
        yv = y.ToDoubleArray();
        for (int i = 0; i < yv.Length; i++)
        {
            int c = i / 10 % 3;
            Assert.That(yv[i], Is.EqualTo((xv[i] - rm[c]) / Math.Sqrt(rv[c] + 1e-5) * w[c] + b[c]).Within(1e-10));
        }
        Assert.That(bn.NumBatchesTracked.Item(), Is.EqualTo(1), "evaluation does not count batches");
        Assert.That(() => bn.Forward(Tensor.Zeros([2, 4, 3, 3], DType.Float64)), Throws.ArgumentException.With.Message.Contains("BatchNorm2d(3)"));
        bn.Train();
        Assert.That(() => bn.Forward(Tensor.Zeros([1, 3, 1, 1], DType.Float64)), Throws.ArgumentException.With.Message.Contains("more than one value per channel"));
        bn.Eval();
        Assert.That(bn.Forward(Tensor.Zeros([1, 3, 1, 1], DType.Float64)).Shape, Is.EqualTo(new[] { 1, 3, 1, 1 }), "evaluation of a single pixel is fine");
    }

    [Test]
    public void SequentialOfLinearReluSigmoidComposes()
    {
        var l1 = new Linear(4, 3, generator: new Generator(6));
        var l2 = new Linear(3, 2, bias: false, generator: new Generator(7));
        var net = new Sequential(l1, new ReLU(), l2, new Sigmoid(), new Identity());
        net.To(DType.Float64);
        var x = Numeric.RandomDouble(new Random(8), 5, 4);
        var y = net.Forward(x).ToDoubleArray();
        var xv = x.ToDoubleArray(); var w1 = l1.Weight.ToDoubleArray(); var b1 = l1.Bias!.ToDoubleArray(); var w2 = l2.Weight.ToDoubleArray();
        for (int r = 0; r < 5; r++)
        {
            var h = new double[3];
            for (int o = 0; o < 3; o++)
            {
                h[o] = b1[o];
                for (int i = 0; i < 4; i++) h[o] += w1[o * 4 + i] * xv[r * 4 + i];
                h[o] = Math.Max(h[o], 0);
            }
            for (int o = 0; o < 2; o++)
            {
                double z = 0;
                for (int i = 0; i < 3; i++) z += w2[o * 3 + i] * h[i];
                Assert.That(y[r * 2 + o], Is.EqualTo(1 / (1 + Math.Exp(-z))).Within(1e-12));
            }
        }
    }

    [Test]
    public void GradientsReachEveryParameterAndZeroGradClearsThem()
    {
        var net = new Sequential(new Conv2d(2, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU(), new Conv2d(4, 1, 1));
        var x = Numeric.RandomFloat(new Random(9), 2, 2, 6, 6);
        Engine.Ops.F.Sum(net.Forward(x)).Backward();
        foreach (var (name, p) in net.NamedParameters())
            Assert.That(p.Grad, Is.Not.Null.And.Property("Shape").EqualTo(p.Shape), name);
        net.ZeroGrad();
        Assert.That(net.Parameters().All(p => p.Grad!.ToDoubleArray().All(v => v == 0)), Is.True);
        Engine.Ops.F.Sum(net.Forward(x)).Backward();
        var once = net.Parameters().Select(p => p.Grad!.ToDoubleArray()).ToList();
        Engine.Ops.F.Sum(net.Forward(x)).Backward();
        var twice = net.Parameters().Select(p => p.Grad!.ToDoubleArray()).ToList();
        for (int k = 0; k < once.Count; k++)
            Numeric.AssertClose(once[k].Select(v => 2 * v).ToArray(), twice[k], 1e-5, 1e-5, "gradients accumulate across backward calls");
        net.ZeroGrad(setToNone: true);
        Assert.That(net.Parameters().All(p => p.Grad == null), Is.True);
    }
}
