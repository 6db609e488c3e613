using Astmt.Engine;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>Unary elementwise ops and activations: float32 kernels against float64 loops, gradients against finite differences.</summary>
public class ElementwiseOpTests
{
    /// <summary>An op, its float64 definition, and how to draw inputs inside its domain.</summary>
    public sealed record UnaryCase(string Name, Func<Tensor, Tensor> Op, Func<double, double> Reference, Func<double, double> Domain, bool Smooth)
    {
        public override string ToString() => Name;
    }

    private static double Away(double v, double from, double gap) => Math.Abs(v - from) < gap ? from + (v < from ? -gap : gap) : v;

    public static readonly UnaryCase[] Cases =
    [
        new("relu", F.Relu, v => Math.Max(v, 0), v => Away(v, 0, 1e-3), Smooth: false),
        new("sigmoid", F.Sigmoid, v => 1 / (1 + Math.Exp(-v)), v => 3 * v, Smooth: true),
        new("exp", F.Exp, Math.Exp, v => v, Smooth: true),
        new("log", F.Log, Math.Log, v => 0.2 + Math.Abs(v), Smooth: true),
        new("sqrt", F.Sqrt, Math.Sqrt, v => 0.2 + Math.Abs(v), Smooth: true),
        new("abs", F.Abs, Math.Abs, v => Away(v, 0, 1e-3), Smooth: false),
        new("square", F.Square, v => v * v, v => v, Smooth: true),
        new("pow 3", x => F.Pow(x, 3), v => v * v * v, v => v, Smooth: true),
        new("pow -1.5", x => F.Pow(x, -1.5), v => Math.Pow(v, -1.5), v => 0.3 + Math.Abs(v), Smooth: true),
        new("pow 0.5", x => F.Pow(x, 0.5), Math.Sqrt, v => 0.3 + Math.Abs(v), Smooth: true),
        new("clamp [-0.5, 0.7]", x => F.Clamp(x, -0.5, 0.7), v => Math.Min(Math.Max(v, -0.5), 0.7), v => Away(Away(v, -0.5, 1e-3), 0.7, 1e-3), Smooth: false),
        new("clamp min 0.1", x => F.Clamp(x, 0.1, null), v => Math.Max(v, 0.1), v => Away(v, 0.1, 1e-3), Smooth: false),
        new("clamp max -0.2", x => F.Clamp(x, null, -0.2), v => Math.Min(v, -0.2), v => Away(v, -0.2, 1e-3), Smooth: false),
    ];

    private static readonly int[][] Shapes = [[1], [7], [3, 5], [45, 65], [3, 7, 61, 67]];

    private static IEnumerable<TestCaseData> ForwardCases() =>
        from c in Cases from s in Shapes select new TestCaseData(c, s).SetArgDisplayNames(c.Name, ShapeUtil.Format(s));

    private static Tensor Draw(Random rng, UnaryCase c, DType dtype, params int[] shape)
    {
        var v = new double[ShapeUtil.Numel(shape)];
        for (int i = 0; i < v.Length; i++) v[i] = c.Domain(Numeric.Gaussian(rng));
        return dtype == DType.Float64 ? Tensor.FromArray(v, shape) : Tensor.FromArray(Array.ConvertAll(v, x => (float)x), shape);
    }

    [TestCaseSource(nameof(ForwardCases))]
    public void Float32AndFloat64MatchTheScalarDefinition(UnaryCase c, int[] shape)
    {
        var rng = new Random(11);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Draw(rng, c, dtype, shape);
            var y = c.Op(x);
            Assert.That(y.Shape, Is.EqualTo(shape));
            Assert.That(y.DType, Is.EqualTo(dtype));
            var expected = Array.ConvertAll(x.ToDoubleArray(), v => c.Reference(v));
            double tol = dtype == DType.Float32 ? 2e-6 : 1e-13;
            Numeric.AssertClose(expected, y.ToDoubleArray(), tol, tol, $"{c.Name} {dtype}");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void GradientMatchesFiniteDifferences(UnaryCase c)
    {
        var x = Draw(new Random(21), c, DType.Float64, 3, 7);
        GradCheck.Check(t => c.Op(t[0]), [x]);
    }

    [TestCaseSource(nameof(Cases))]
    public void SecondOrderGradientMatchesFiniteDifferences(UnaryCase c)
    {
        var x = Draw(new Random(31), c, DType.Float64, 2, 5);
        // Squaring the output makes the first-order gradient depend on the op's output even where its own second derivative
        // is zero (relu, abs, clamp), which is the path ASTMT's double backprop takes through ReLU.
        if (c.Smooth) GradCheck.CheckSecondOrder(t => c.Op(t[0]), [x]);
        GradCheck.CheckSecondOrder(t => F.Square(c.Op(t[0])), [x]);
    }

    [Test]
    public void StridedInputsAreReadInOrder()
    {
        var x = Numeric.RandomFloat(new Random(4), 5, 9);
        var t = F.Permute(x, 1, 0);
        var y = F.Exp(t);
        var expected = F.Permute(x, 1, 0).ToDoubleArray().Select(Math.Exp).ToArray();
        Numeric.AssertClose(expected, y.ToDoubleArray(), 1e-6, 2e-6, "exp of a transposed view");
    }

    [Test]
    public void MasksAndSignFollowTheirDefinitionAndRecordNoGradient()
    {
        var x = Tensor.FromArray([-2.0, -0.0, 0.0, 0.5, 3.0, double.NaN], 6);
        x.RequiresGrad = true;
        Assert.That(F.NotEqual(x, 0.5).ToDoubleArray(), Is.EqualTo(new[] { 1.0, 1, 1, 0, 1, 1 }));
        Assert.That(F.Greater(x, 0).ToDoubleArray(), Is.EqualTo(new[] { 0.0, 0, 0, 1, 1, 0 }));
        Assert.That(F.Sign(x).ToDoubleArray().Take(5), Is.EqualTo(new[] { -1.0, 0, 0, 1, 1 }));
        Assert.That(F.Greater(x, 0).RequiresGrad, Is.False);
        var big = Numeric.RandomFloat(new Random(2), 300, 301);
        var expectedGt = big.ToDoubleArray().Select(v => v > 0.25 ? 1.0 : 0).ToArray();
        Assert.That(F.Greater(big, 0.25).ToDoubleArray(), Is.EqualTo(expectedGt));
        Autograd.Autograd.ReleaseStep();
    }

    [Test]
    public void GradientReversalNegatesAndScalesTheGradient()
    {
        var x = Numeric.RandomDouble(new Random(8), 4, 3);
        x.RequiresGrad = true;
        var g = Numeric.RandomDouble(new Random(9), 4, 3);
        var y = F.GradientReversal(x, 0.25);
        Assert.That(y.ToDoubleArray(), Is.EqualTo(x.ToDoubleArray()));
        F.Sum(F.Mul(y, g)).Backward();
        Numeric.AssertClose(g.ToDoubleArray().Select(v => -0.25 * v).ToArray(), x.Grad!.ToDoubleArray(), 1e-15, 0, "reversed gradient");

        // Through a create-graph pass, L = Σ GR(x)² has dL/dx = −alpha·2·GR(x); differentiating again goes back through the
        // reversal (as a PyTorch autograd.Function with a differentiable backward does): d/dx Σ dL/dx = 2·alpha².
        var first = Autograd.Autograd.Grad([F.Sum(F.Square(F.GradientReversal(x, 0.25)))], [x], createGraph: true)[0]!;
        var second = Autograd.Autograd.Grad([F.Sum(first)], [x])[0]!;
        Assert.That(second.ToDoubleArray(), Is.All.EqualTo(0.125).Within(1e-15));
        Autograd.Autograd.ReleaseStep();
    }

    [Test]
    public void SigmoidAndExpStayFiniteAtExtremes()
    {
        var x = Tensor.FromArray([-1000f, -90f, 0f, 90f, 1000f, -1000f, 5f, 1f, 2f], 9);
        var s = F.Sigmoid(x).ToDoubleArray();
        Assert.That(s.All(double.IsFinite), Is.True, string.Join(", ", s));
        Assert.That(s[0], Is.EqualTo(0).Within(1e-30));
        Assert.That(s[4], Is.EqualTo(1));
    }

    [Test]
    public void BadInputsNameTheOp()
    {
        var ints = Tensor.FromArray(new long[] { 1, 2, 3 }, 3);
        Assert.That(Assert.Throws<ArgumentException>(() => F.Relu(ints))!.Message, Does.Contain("relu").And.Contain("Int64"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Sigmoid(ints))!.Message, Does.Contain("sigmoid"));
        var x = Tensor.Zeros([2, 2]);
        Assert.That(Assert.Throws<ArgumentException>(() => F.Clamp(x, 1, 0))!.Message, Does.Contain("clamp").And.Contain("min"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Pow(x, double.NaN))!.Message, Does.Contain("pow"));
    }
}
