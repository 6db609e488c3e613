using Astmt.Engine;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>NLL, cross-entropy, BCE-with-logits and masked L1 against float64 loops, finite differences and PyTorch's rules
/// (ignore index, reductions, NaN for an empty mean).</summary>
public class LossOpTests
{
    private const int Ignore = 255;

    /// <summary>Random targets in [0, C) with about a fifth set to <see cref="Ignore"/>.</summary>
    private static Tensor Targets(Random rng, int classes, params int[] shape)
    {
        var t = new long[ShapeUtil.Numel(shape)];
        for (int i = 0; i < t.Length; i++) t[i] = rng.NextDouble() < 0.2 ? Ignore : rng.Next(classes);
        return Tensor.FromArray(t, shape);
    }

    private static (double[] PerElement, int Counted) NllReference(double[] logp, long[] target, int[] shape)
    {
        var (outer, classes, inner) = AlongDimReference.Split(shape, 1);
        var loss = new double[outer * inner];
        int counted = 0;
        for (int b = 0; b < outer; b++)
        for (int i = 0; i < inner; i++)
        {
            long t = target[b * inner + i];
            if (t == Ignore) continue;
            loss[b * inner + i] = -logp[(b * classes + t) * inner + i];
            counted++;
        }
        return (loss, counted);
    }

    private static readonly int[][] NllShapes = [[5, 4], [2, 3, 4, 5], [2, 21, 45, 65], [1, 1, 1, 7]];

    [TestCaseSource(nameof(NllShapes))]
    public void NllAndCrossEntropyMatchFloat64Loops(int[] shape)
    {
        var rng = new Random(5);
        var targetShape = shape.Where((_, i) => i != 1).ToArray();
        var target = Targets(rng, shape[1], targetShape);
        foreach (var logits in new[] { Numeric.RandomFloat(rng, shape), Numeric.RandomDouble(rng, shape) })
        {
            var logp = AlongDimReference.MapLines(logits.ToDoubleArray(), shape, 1, AlongDimReference.LogSoftmax, shape[1]);
            var (perElement, counted) = NllReference(logp, target.ToArray<long>(), shape);
            double tol = logits.DType == DType.Float32 ? 3e-6 : 1e-12;
            var lp = F.LogSoftmax(logits, 1);
            var none = F.NllLoss(lp, target, Ignore, LossReduction.None);
            Assert.That(none.Shape, Is.EqualTo(targetShape));
            Numeric.AssertClose(perElement, none.ToDoubleArray(), tol, tol, "nll none");
            Assert.That(F.NllLoss(lp, target, Ignore, LossReduction.Sum).Item(), Is.EqualTo(perElement.Sum()).Within(tol * (1 + perElement.Sum())));
            double mean = perElement.Sum() / counted;
            Assert.That(F.NllLoss(lp, target, Ignore).Item(), Is.EqualTo(mean).Within(tol * (1 + mean)));
            Assert.That(F.CrossEntropy(logits, target, Ignore).Item(), Is.EqualTo(mean).Within(tol * (1 + mean)));
        }
    }

    [Test]
    public void IgnoredTargetsGetNoGradientAndAllIgnoredGivesNaN()
    {
        var logits = Numeric.RandomDouble(new Random(6), 2, 3, 2);
        logits.RequiresGrad = true;
        var target = Tensor.FromArray(new long[] { 0, Ignore, 2, Ignore }, 2, 2);
        F.CrossEntropy(logits, target, Ignore).Backward();
        var g = logits.Grad!.ToDoubleArray();
        // Positions (b=0, i=1) and (b=1, i=1) are ignored: every class there has a zero gradient.
        for (int c = 0; c < 3; c++)
        {
            Assert.That(g[(0 * 3 + c) * 2 + 1], Is.EqualTo(0), $"class {c} of an ignored pixel");
            Assert.That(g[(1 * 3 + c) * 2 + 1], Is.EqualTo(0), $"class {c} of an ignored pixel");
        }
        // The counted pixels each carry 1/2 of the mean: their softmax gradients sum to zero over classes.
        Assert.That(Enumerable.Range(0, 3).Sum(c => g[c * 2]), Is.EqualTo(0).Within(1e-15));
        Assert.That(g.Any(v => v != 0), Is.True);

        var allIgnored = Tensor.Full([2, 2], Ignore, DType.Int64);
        Assert.That(F.NllLoss(F.LogSoftmax(logits, 1), allIgnored, Ignore).Item(), Is.NaN);
        Assert.That(F.NllLoss(F.LogSoftmax(logits, 1), allIgnored, Ignore, LossReduction.Sum).Item(), Is.EqualTo(0));
        Autograd.Autograd.ReleaseStep();
    }

    [Test]
    public void NllGradientsMatchFiniteDifferences()
    {
        var rng = new Random(7);
        var target = Targets(rng, 4, 2, 3, 2);
        foreach (var reduction in Enum.GetValues<LossReduction>())
        {
            GradCheck.Check(t => F.NllLoss(t[0], target, Ignore, reduction), [Numeric.RandomDouble(rng, 2, 4, 3, 2)]);
            GradCheck.Check(t => F.CrossEntropy(t[0], target, Ignore, reduction), [Numeric.RandomDouble(rng, 2, 4, 3, 2)]);
        }
        var flatTarget = Tensor.FromArray(new long[] { 3, 0, -100, 1 }, 4);
        GradCheck.Check(t => F.CrossEntropy(t[0], flatTarget), [Numeric.RandomDouble(rng, 4, 5)]);
    }

    [Test]
    public void LogSoftmaxNllSecondOrderMatchesFiniteDifferences()
    {
        var rng = new Random(8);
        var target = Targets(rng, 4, 2, 3, 2);
        foreach (var reduction in Enum.GetValues<LossReduction>())
            GradCheck.CheckSecondOrder(t => F.NllLoss(F.LogSoftmax(t[0], 1), target, Ignore, reduction), [Numeric.RandomDouble(rng, 2, 4, 3, 2)]);
    }

    private static double BceReference(double x, double t) => Math.Max(x, 0) - x * t + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    [TestCase(new[] { 4, 1, 5, 7 }, new[] { 4, 1, 5, 7 })]
    [TestCase(new[] { 2, 3, 45, 65 }, new[] { 2, 1, 45, 65 })]
    [TestCase(new[] { 3, 7 }, new[] { 7 })]
    [TestCase(new[] { 2, 3, 100, 120 }, new int[0])]
    public void BceWithLogitsMatchesFloat64Loops(int[] shape, int[] weightShape)
    {
        var rng = new Random(9);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = F.Mul(Numeric.RandomDouble(rng, shape), 5.0).To(dtype);
            var t = F.Greater(Numeric.RandomDouble(rng, shape), 0.3).To(dtype);
            var w = F.Abs(Numeric.RandomDouble(rng, weightShape)).To(dtype);
            var xs = x.ToDoubleArray(); var ts = t.ToDoubleArray(); var ws = w.ToDoubleArray();
            var weightIndex = BroadcastIndex(shape, weightShape);
            var plain = xs.Select((v, i) => BceReference(v, ts[i])).ToArray();
            var weighted = plain.Select((v, i) => v * ws[weightIndex(i)]).ToArray();
            double tol = dtype == DType.Float32 ? 3e-6 : 1e-12;
            Numeric.AssertClose(plain, F.BinaryCrossEntropyWithLogits(x, t, null, LossReduction.None).ToDoubleArray(), tol, tol, "bce none");
            Numeric.AssertClose(weighted, F.BinaryCrossEntropyWithLogits(x, t, w, LossReduction.None).ToDoubleArray(), tol, tol, "weighted bce none");
            Assert.That(F.BinaryCrossEntropyWithLogits(x, t, w, LossReduction.Sum).Item(), Is.EqualTo(weighted.Sum()).Within(tol * (1 + weighted.Sum())));
            Assert.That(F.BinaryCrossEntropyWithLogits(x, t, w).Item(), Is.EqualTo(weighted.Average()).Within(tol * (1 + weighted.Average())));
        }
    }

    [Test]
    public void BceWithLogitsIsFiniteForHugeLogits()
    {
        var x = Tensor.FromArray([1000f, -1000f, 80f, -80f], 4);
        var t = Tensor.FromArray([0f, 1f, 1f, 0f], 4);
        Assert.That(F.BinaryCrossEntropyWithLogits(x, t, null, LossReduction.None).ToDoubleArray(), Is.EqualTo(new[] { 1000.0, 1000, 0, 0 }).Within(1e-6));
    }

    [Test]
    public void BceWithLogitsGradientsMatchFiniteDifferences()
    {
        var rng = new Random(10);
        foreach (var reduction in Enum.GetValues<LossReduction>())
        {
            GradCheck.Check(t => F.BinaryCrossEntropyWithLogits(t[0], t[1], t[2], reduction),
                [Numeric.RandomDouble(rng, 2, 3, 4), F.Sigmoid(Numeric.RandomDouble(rng, 2, 3, 4)).Detach(), F.Abs(Numeric.RandomDouble(rng, 2, 1, 4)).Detach()]);
            GradCheck.Check(t => F.BinaryCrossEntropyWithLogits(t[0], t[1], null, reduction),
                [Numeric.RandomDouble(rng, 5, 3), F.Sigmoid(Numeric.RandomDouble(rng, 5, 3)).Detach()]);
        }
    }

    [Test]
    public void SigmoidWeightedBceSecondOrderMatchesFiniteDifferences()
    {
        var rng = new Random(11);
        foreach (var reduction in Enum.GetValues<LossReduction>())
        {
            // ASTMT: targets and per-pixel weights are constants; the gradient with respect to the logits is differentiated again.
            var target = F.Greater(Numeric.RandomDouble(rng, 2, 1, 3, 3), 0).Detach();
            var weight = F.Abs(Numeric.RandomDouble(rng, 2, 1, 3, 3)).Detach();
            GradCheck.CheckSecondOrder(t => F.BinaryCrossEntropyWithLogits(t[0], target, weight, reduction), [Numeric.RandomDouble(rng, 2, 1, 3, 3)]);
            // All three inputs differentiable, weight broadcast along channels.
            GradCheck.CheckSecondOrder(t => F.BinaryCrossEntropyWithLogits(t[0], t[1], t[2], reduction),
                [Numeric.RandomDouble(rng, 2, 3, 2), F.Sigmoid(Numeric.RandomDouble(rng, 2, 3, 2)).Detach(), F.Abs(Numeric.RandomDouble(rng, 2, 1, 2)).Detach()]);
        }
    }

    [TestCase(new[] { 2, 3, 5, 7 }, new[] { 2, 1, 5, 7 })]
    [TestCase(new[] { 2, 1, 45, 65 }, new[] { 2, 1, 45, 65 })]
    [TestCase(new[] { 9 }, new[] { 9 })]
    public void MaskedL1MatchesFloat64Loops(int[] shape, int[] maskShape)
    {
        var rng = new Random(12);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var p = Numeric.RandomDouble(rng, shape).To(dtype);
            var t = Numeric.RandomDouble(rng, shape).To(dtype);
            var m = F.Greater(Numeric.RandomDouble(rng, maskShape), -0.3).To(dtype);
            var ps = p.ToDoubleArray(); var ts = t.ToDoubleArray(); var ms = m.ToDoubleArray();
            var maskIndex = BroadcastIndex(shape, maskShape);
            double num = 0, den = 0;
            for (int i = 0; i < ps.Length; i++) { num += Math.Abs(ps[i] - ts[i]) * ms[maskIndex(i)]; den += ms[maskIndex(i)]; }
            double tol = dtype == DType.Float32 ? 3e-6 : 1e-12;
            Assert.That(F.MaskedL1(p, t, m).Item(), Is.EqualTo(num / den).Within(tol * (1 + num / den)), dtype.ToString());
        }
    }

    [Test]
    public void MaskedL1GradientsMatchFiniteDifferences()
    {
        var rng = new Random(13);
        var mask = F.Greater(Numeric.RandomDouble(rng, 2, 1, 3, 4), -0.5).Detach();
        GradCheck.Check(t => F.MaskedL1(t[0], t[1], mask), [Numeric.RandomDouble(rng, 2, 3, 3, 4), Numeric.RandomDouble(rng, 2, 3, 3, 4)]);
        GradCheck.Check(t => F.MaskedL1(t[0], t[1], t[2]), [Numeric.RandomDouble(rng, 2, 3), Numeric.RandomDouble(rng, 2, 3), F.Add(F.Abs(Numeric.RandomDouble(rng, 2, 3)), 0.1).Detach()]);
        // The normals loss of ASTMT: L1 of the L2-normalised prediction over valid pixels, differentiated twice.
        GradCheck.CheckSecondOrder(t => F.MaskedL1(F.Square(t[0]), t[1], mask), [Numeric.RandomDouble(rng, 2, 3, 3, 4), Numeric.RandomDouble(rng, 2, 3, 3, 4)]);
        GradCheck.CheckSecondOrder(t => F.MaskedL1(F.L2Normalize(t[0]), t[1], mask), [Numeric.RandomDouble(rng, 2, 3, 3, 4), Numeric.RandomDouble(rng, 2, 3, 3, 4)]);
    }

    [Test]
    public void BadInputsNameTheOpAndTheShapes()
    {
        var lp = Tensor.Zeros([2, 3, 4]);
        var msg = Assert.Throws<ArgumentException>(() => F.NllLoss(lp, Tensor.Zeros([2, 4])))!.Message;
        Assert.That(msg, Does.Contain("nll_loss").And.Contain("Int64"));
        msg = Assert.Throws<ArgumentException>(() => F.NllLoss(lp, Tensor.Zeros([2, 5], DType.Int64)))!.Message;
        Assert.That(msg, Does.Contain("nll_loss").And.Contain("[2x4]").And.Contain("[2x5]"));
        msg = Assert.Throws<ArgumentException>(() => F.NllLoss(lp, Tensor.Full([2, 4], 3, DType.Int64)))!.Message;
        Assert.That(msg, Does.Contain("nll_loss").And.Contain("target 3").And.Contain("[0, 3)"));
        msg = Assert.Throws<ArgumentException>(() => F.NllLoss(Tensor.Zeros([3]), Tensor.Zeros([1], DType.Int64)))!.Message;
        Assert.That(msg, Does.Contain("[B,C,...]"));
        msg = Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Zeros([3]), Tensor.Zeros([1], DType.Int64)))!.Message;
        Assert.That(msg, Does.Contain("cross_entropy"));
        msg = Assert.Throws<ArgumentException>(() => F.BinaryCrossEntropyWithLogits(Tensor.Zeros([2, 3]), Tensor.Zeros([3, 2])))!.Message;
        Assert.That(msg, Does.Contain("binary_cross_entropy_with_logits").And.Contain("[3x2]"));
        msg = Assert.Throws<ArgumentException>(() => F.BinaryCrossEntropyWithLogits(Tensor.Zeros([2, 3]), Tensor.Zeros([2, 3]), Tensor.Zeros([2, 3], DType.Float64)))!.Message;
        Assert.That(msg, Does.Contain("dtypes differ"));
        msg = Assert.Throws<ArgumentException>(() => F.BinaryCrossEntropyWithLogits(Tensor.Zeros([2, 3]), Tensor.Zeros([2, 3]), Tensor.Zeros([4, 1, 3])))!.Message;
        Assert.That(msg, Does.Contain("weight"));
        msg = Assert.Throws<ArgumentException>(() => F.MaskedL1(Tensor.Zeros([2, 3]), Tensor.Zeros([2, 3]), Tensor.Zeros([3, 3])))!.Message;
        Assert.That(msg, Does.Contain("masked_l1"));
        msg = Assert.Throws<ArgumentException>(() => F.MaskedL1(Tensor.Zeros([2, 3]), Tensor.Zeros([2, 1]), Tensor.Zeros([2, 3])))!.Message;
        Assert.That(msg, Does.Contain("masked_l1").And.Contain("same shape"));
    }

    /// <summary>Maps a flat index of <paramref name="shape"/> to the flat index of a tensor broadcast from <paramref name="small"/>.</summary>
    private static Func<int, int> BroadcastIndex(int[] shape, int[] small) => flat =>
    {
        int result = 0, stride = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            int i = flat % shape[d];
            flat /= shape[d];
            int sd = d - (shape.Length - small.Length);
            if (sd < 0) continue;
            if (small[sd] != 1) result += i * stride;
            stride *= small[sd];
        }
        return result;
    };
}
