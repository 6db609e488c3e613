using Astmt.Engine;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>Softmax, log-softmax, max, argmax, norm and L2-normalize along a dimension.</summary>
public class ReductionOpTests
{
    private static readonly (int[] Shape, int Dim)[] Layouts =
    [
        ([7], 0), ([3, 5], 1), ([3, 5], 0), ([2, 3, 4, 5], 1), ([2, 21, 45, 65], 1), ([1, 1, 3, 1], 2), ([4, 3, 300], -1), ([2, 3, 5, 7], 3),
    ];

    private static IEnumerable<TestCaseData> LayoutCases() =>
        Layouts.Select(l => new TestCaseData(l.Shape, l.Dim).SetArgDisplayNames(ShapeUtil.Format(l.Shape), $"dim {l.Dim}"));

    private static int Norm(int dim, int rank) => dim < 0 ? dim + rank : dim;

    [TestCaseSource(nameof(LayoutCases))]
    public void SoftmaxAndLogSoftmaxMatchFloat64Loops(int[] shape, int dim)
    {
        var rng = new Random(1);
        int d = Norm(dim, shape.Length);
        foreach (var x in new[] { F.Mul(Numeric.RandomFloat(rng, shape), 4.0), F.Mul(Numeric.RandomDouble(rng, shape), 4.0) })
        {
            var xs = x.ToDoubleArray();
            double tol = x.DType == DType.Float32 ? 2e-6 : 1e-13;
            Numeric.AssertClose(AlongDimReference.MapLines(xs, shape, d, AlongDimReference.Softmax, shape[d]), F.Softmax(x, dim).ToDoubleArray(), tol, tol, $"softmax {x.DType}");
            Numeric.AssertClose(AlongDimReference.MapLines(xs, shape, d, AlongDimReference.LogSoftmax, shape[d]), F.LogSoftmax(x, dim).ToDoubleArray(), tol, tol, $"log_softmax {x.DType}");
        }
    }

    [Test]
    public void SoftmaxIsStableForLargeLogits()
    {
        var x = Tensor.FromArray([1000f, 0f, -1000f, 800f, 800f, 800f], 2, 3);
        var y = F.Softmax(x, 1).ToDoubleArray();
        Numeric.AssertClose([1, 0, 0, 1 / 3.0, 1 / 3.0, 1 / 3.0], y, 1e-7, 1e-6, "softmax of huge logits");
        var l = F.LogSoftmax(x, 1).ToDoubleArray();
        Numeric.AssertClose([0, -1000, -2000, -Math.Log(3), -Math.Log(3), -Math.Log(3)], l, 1e-4, 1e-6, "log_softmax of huge logits");
    }

    [TestCaseSource(nameof(LayoutCases))]
    public void MaxArgMaxAndNormMatchFloat64Loops(int[] shape, int dim)
    {
        var rng = new Random(2);
        int d = Norm(dim, shape.Length);
        foreach (var x in new[] { Numeric.RandomFloat(rng, shape), Numeric.RandomDouble(rng, shape) })
        {
            var xs = x.ToDoubleArray();
            var maxRef = AlongDimReference.MapLines(xs, shape, d, l => [l.Max()], 1);
            var argRef = AlongDimReference.MapLines(xs, shape, d, l => [Array.IndexOf(l, l.Max())], 1);
            var normRef = AlongDimReference.MapLines(xs, shape, d, l => [Math.Sqrt(l.Sum(v => v * v))], 1);
            var kept = (int[])shape.Clone();
            kept[d] = 1;
            var dropped = shape.Where((_, i) => i != d).ToArray();
            var m = F.Max(x, dim);
            Assert.That(m.Shape, Is.EqualTo(dropped));
            Assert.That(F.Max(x, dim, keepDim: true).Shape, Is.EqualTo(kept));
            Assert.That(m.ToDoubleArray(), Is.EqualTo(maxRef));
            var a = F.ArgMax(x, dim, keepDim: true);
            Assert.That(a.DType, Is.EqualTo(DType.Int64));
            Assert.That(a.Shape, Is.EqualTo(kept));
            Assert.That(a.ToDoubleArray(), Is.EqualTo(argRef));
            double tol = x.DType == DType.Float32 ? 2e-6 : 1e-13;
            Numeric.AssertClose(normRef, F.Norm(x, dim).ToDoubleArray(), tol, tol, $"norm {x.DType}");
            var l2Ref = AlongDimReference.MapLines(xs, shape, d, l => { double n = Math.Max(Math.Sqrt(l.Sum(v => v * v)), 1e-12); return l.Select(v => v / n).ToArray(); }, shape[d]);
            Numeric.AssertClose(l2Ref, F.L2Normalize(x, dim).ToDoubleArray(), tol, tol, $"l2_normalize {x.DType}");
        }
    }

    [Test]
    public void ArgMaxTakesTheFirstOfTiesAndNaNWins()
    {
        var x = Tensor.FromArray([1f, 3f, 3f, 0f, float.NaN, 2f, 5f, 5f, 5f], 3, 3);
        Assert.That(F.ArgMax(x, 1).ToArray<long>(), Is.EqualTo(new long[] { 1, 1, 0 }));
        Assert.That(F.Max(x, 0).ToDoubleArray()[1], Is.NaN);
    }

    [Test]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(3);
        GradCheck.Check(t => F.Softmax(t[0], 1), [Numeric.RandomDouble(rng, 2, 4, 3)]);
        GradCheck.Check(t => F.LogSoftmax(t[0], 1), [Numeric.RandomDouble(rng, 2, 4, 3)]);
        GradCheck.Check(t => F.LogSoftmax(t[0], -1), [Numeric.RandomDouble(rng, 3, 5)]);
        GradCheck.Check(t => F.Max(t[0], 1), [Numeric.RandomDouble(rng, 2, 4, 3)]);
        GradCheck.Check(t => F.Max(t[0], 0, keepDim: true), [Numeric.RandomDouble(rng, 4, 3)]);
        GradCheck.Check(t => F.Norm(t[0], 1), [Numeric.RandomDouble(rng, 2, 4, 3)]);
        GradCheck.Check(t => F.L2Normalize(t[0]), [Numeric.RandomDouble(rng, 2, 3, 2, 3)]);
        GradCheck.Check(t => F.L2Normalize(t[0], 0), [Numeric.RandomDouble(rng, 5, 2)]);
        // Below eps the norm is clamped: x/eps has gradient 1/eps, and nothing flows into the clamped norm.
        GradCheck.Check(t => F.L2Normalize(t[0], 1, eps: 10), [Numeric.RandomDouble(rng, 2, 3, 2)]);
    }

    [Test]
    public void SecondOrderGradientsMatchFiniteDifferences()
    {
        var rng = new Random(4);
        GradCheck.CheckSecondOrder(t => F.Softmax(t[0], 1), [Numeric.RandomDouble(rng, 2, 4, 3)]);
        GradCheck.CheckSecondOrder(t => F.LogSoftmax(t[0], 1), [Numeric.RandomDouble(rng, 2, 4, 3)]);
        GradCheck.CheckSecondOrder(t => F.Square(F.Max(t[0], 1)), [Numeric.RandomDouble(rng, 2, 4, 3)]);
        GradCheck.CheckSecondOrder(t => F.Norm(t[0], 1), [Numeric.RandomDouble(rng, 2, 4, 3)]);
        GradCheck.CheckSecondOrder(t => F.L2Normalize(t[0]), [Numeric.RandomDouble(rng, 2, 3, 2, 3)]);
        GradCheck.CheckSecondOrder(t => F.L2Normalize(t[0], -1), [Numeric.RandomDouble(rng, 3, 4)]);
    }

    [Test]
    public void NormOfAZeroVectorHasAZeroGradient()
    {
        var x = Tensor.FromArray([0.0, 0, 0, 1, 2, 2], 2, 3);
        x.RequiresGrad = true;
        F.Sum(F.Norm(x, 1)).Backward();
        Assert.That(x.Grad!.ToDoubleArray(), Is.EqualTo(new[] { 0, 0, 0, 1 / 3.0, 2 / 3.0, 2 / 3.0 }).Within(1e-15));
        var z = Tensor.FromArray([0.0, 0, 0, 3, 0, 4], 2, 3);
        z.RequiresGrad = true;
        var y = F.L2Normalize(z);
        Assert.That(y.ToDoubleArray(), Is.EqualTo(new[] { 0, 0, 0, 0.6, 0, 0.8 }).Within(1e-15));
        F.Sum(y).Backward();
        Assert.That(z.Grad!.ToDoubleArray().All(double.IsFinite), Is.True);
        Assert.That(z.Grad!.ToDoubleArray().Take(3), Is.All.EqualTo(1e12).Within(1));
    }

    [Test]
    public void BadInputsNameTheOp()
    {
        var scalar = Tensor.Scalar(1);
        Assert.That(Assert.Throws<ArgumentException>(() => F.Softmax(scalar, 0))!.Message, Does.Contain("softmax"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => F.LogSoftmax(Tensor.Zeros([2, 3]), 2))!.Message, Does.Contain("log_softmax"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Max(Tensor.Zeros([2, 0]), 1))!.Message, Does.Contain("max").And.Contain("empty"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.ArgMax(Tensor.FromArray(new long[] { 1 }, 1), 0))!.Message, Does.Contain("argmax"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.L2Normalize(Tensor.Zeros([2, 3]), 1, -1))!.Message, Does.Contain("l2_normalize"));
    }
}
