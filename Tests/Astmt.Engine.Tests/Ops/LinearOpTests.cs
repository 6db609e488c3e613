using Astmt.Engine;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>matmul, linear and channel scaling against float64 loops and finite differences.</summary>
public class LinearOpTests
{
    private static double[] MatMulReference(double[] a, double[] b, int m, int k, int n)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
            c[i * n + j] = s;
        }
        return c;
    }

    [TestCase(1, 1, 1)]
    [TestCase(3, 7, 5)]
    [TestCase(45, 65, 33)]
    [TestCase(130, 70, 90)]
    public void MatMulMatchesFloat64Loops(int m, int k, int n)
    {
        var rng = new Random(1);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var a = Numeric.RandomDouble(rng, m, k).To(dtype);
            var b = Numeric.RandomDouble(rng, k, n).To(dtype);
            var expected = MatMulReference(a.ToDoubleArray(), b.ToDoubleArray(), m, k, n);
            double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
            Numeric.AssertClose(expected, F.MatMul(a, b).ToDoubleArray(), tol, tol, $"matmul {dtype}");
            // Transposed views are read in place: (bᵀ)ᵀ and (aᵀ)ᵀ give the same product.
            var at = F.Permute(F.Contiguous(F.Permute(a, 1, 0)), 1, 0);
            var bt = F.Permute(F.Contiguous(F.Permute(b, 1, 0)), 1, 0);
            Numeric.AssertClose(expected, F.MatMul(at, bt).ToDoubleArray(), tol, tol, $"matmul of transposed views {dtype}");
            // A strided slice that is neither row-major nor transposed goes through a dense copy.
            var wide = Numeric.RandomDouble(rng, m, 2 * k).To(dtype);
            var sliced = F.Narrow(wide, 1, 1, k);
            Numeric.AssertClose(MatMulReference(F.Contiguous(sliced).ToDoubleArray(), b.ToDoubleArray(), m, k, n), F.MatMul(sliced, b).ToDoubleArray(), tol, tol, "matmul of a slice");
        }
    }

    [Test]
    public void LinearMatchesFloat64Loops()
    {
        var rng = new Random(2);
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Numeric.RandomDouble(rng, 2, 3, 17).To(dtype);
            var w = Numeric.RandomDouble(rng, 11, 17).To(dtype);
            var b = Numeric.RandomDouble(rng, 11).To(dtype);
            var wt = F.Contiguous(F.Permute(w, 1, 0)).ToDoubleArray();
            var expected = MatMulReference(x.ToDoubleArray(), wt, 6, 17, 11);
            var bs = b.ToDoubleArray();
            double tol = dtype == DType.Float32 ? 1e-5 : 1e-12;
            var y = F.Linear(x, w, null);
            Assert.That(y.Shape, Is.EqualTo(new[] { 2, 3, 11 }));
            Numeric.AssertClose(expected, y.ToDoubleArray(), tol, tol, $"linear without bias {dtype}");
            Numeric.AssertClose(expected.Select((v, i) => v + bs[i % 11]).ToArray(), F.Linear(x, w, b).ToDoubleArray(), tol, tol, $"linear {dtype}");
        }
    }

    [Test]
    public void GradientsMatchFiniteDifferences()
    {
        var rng = new Random(3);
        GradCheck.Check(t => F.MatMul(t[0], t[1]), [Numeric.RandomDouble(rng, 3, 4), Numeric.RandomDouble(rng, 4, 5)]);
        GradCheck.Check(t => F.MatMul(F.Permute(t[0], 1, 0), t[1]), [Numeric.RandomDouble(rng, 4, 3), Numeric.RandomDouble(rng, 4, 2)]);
        GradCheck.Check(t => F.Linear(t[0], t[1], t[2]), [Numeric.RandomDouble(rng, 3, 4), Numeric.RandomDouble(rng, 5, 4), Numeric.RandomDouble(rng, 5)]);
        GradCheck.Check(t => F.Linear(t[0], t[1], null), [Numeric.RandomDouble(rng, 2, 2, 4), Numeric.RandomDouble(rng, 3, 4)]);
        GradCheck.Check(t => F.ChannelScale(t[0], t[1]), [Numeric.RandomDouble(rng, 2, 3, 4, 5), Numeric.RandomDouble(rng, 2, 3)]);
        GradCheck.Check(t => F.ChannelDot(t[0], t[1]), [Numeric.RandomDouble(rng, 2, 3, 2, 3), Numeric.RandomDouble(rng, 2, 3, 2, 3)]);
    }

    [Test]
    public void SecondOrderGradientsMatchFiniteDifferences()
    {
        var rng = new Random(4);
        GradCheck.CheckSecondOrder(t => F.MatMul(t[0], t[1]), [Numeric.RandomDouble(rng, 3, 4), Numeric.RandomDouble(rng, 4, 2)]);
        GradCheck.CheckSecondOrder(t => F.Linear(t[0], t[1], t[2]), [Numeric.RandomDouble(rng, 3, 4), Numeric.RandomDouble(rng, 2, 4), Numeric.RandomDouble(rng, 2)]);
        GradCheck.CheckSecondOrder(t => F.ChannelScale(t[0], t[1]), [Numeric.RandomDouble(rng, 2, 3, 2, 3), Numeric.RandomDouble(rng, 2, 3)]);
        GradCheck.CheckSecondOrder(t => F.ChannelDot(t[0], t[1]), [Numeric.RandomDouble(rng, 2, 3, 2, 3), Numeric.RandomDouble(rng, 2, 3, 2, 3)]);
        // Squeeze-and-excitation as ASTMT uses it: x scaled by sigmoid(linear(mean over H×W of x)).
        GradCheck.CheckSecondOrder(t => F.ChannelScale(t[0], F.Sigmoid(F.Linear(F.Mean(t[0], [2, 3]), t[1], null))),
            [Numeric.RandomDouble(rng, 2, 3, 2, 2), Numeric.RandomDouble(rng, 3, 3)]);
    }

    [TestCase(new[] { 2, 3, 4, 5 })]
    [TestCase(new[] { 1, 1, 1, 1 })]
    [TestCase(new[] { 2, 7, 45, 65 })]
    [TestCase(new[] { 3, 64, 1, 1 })]
    public void ChannelScaleAndDotMatchFloat64Loops(int[] shape)
    {
        var rng = new Random(5);
        int planes = shape[0] * shape[1], hw = shape[2] * shape[3];
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Numeric.RandomDouble(rng, shape).To(dtype);
            var z = Numeric.RandomDouble(rng, shape).To(dtype);
            var s = Numeric.RandomDouble(rng, shape[0], shape[1]).To(dtype);
            var xs = x.ToDoubleArray(); var zs = z.ToDoubleArray(); var ss = s.ToDoubleArray();
            var scaled = xs.Select((v, i) => v * ss[i / hw]).ToArray();
            var dots = Enumerable.Range(0, planes).Select(p => Enumerable.Range(p * hw, hw).Sum(i => xs[i] * zs[i])).ToArray();
            double tol = dtype == DType.Float32 ? 2e-6 : 1e-12;
            Numeric.AssertClose(scaled, F.ChannelScale(x, s).ToDoubleArray(), tol, tol, $"channel_scale {dtype}");
            Numeric.AssertClose(dots, F.ChannelDot(x, z).ToDoubleArray(), tol * 10, tol, $"channel_dot {dtype}");
        }
    }

    [Test]
    public void BadInputsNameTheOpAndTheShapes()
    {
        var msg = Assert.Throws<ArgumentException>(() => F.MatMul(Tensor.Zeros([2, 3]), Tensor.Zeros([4, 5])))!.Message;
        Assert.That(msg, Does.Contain("matmul").And.Contain("[2x3]").And.Contain("[4x5]"));
        msg = Assert.Throws<ArgumentException>(() => F.MatMul(Tensor.Zeros([2, 3, 1]), Tensor.Zeros([3, 5])))!.Message;
        Assert.That(msg, Does.Contain("matmul").And.Contain("rank-2"));
        msg = Assert.Throws<ArgumentException>(() => F.MatMul(Tensor.Zeros([2, 3]), Tensor.Zeros([3, 5], DType.Float64)))!.Message;
        Assert.That(msg, Does.Contain("matmul").And.Contain("dtypes differ"));
        msg = Assert.Throws<ArgumentException>(() => F.Linear(Tensor.Zeros([2, 3]), Tensor.Zeros([4, 5]), null))!.Message;
        Assert.That(msg, Does.Contain("linear").And.Contain("In = 5"));
        msg = Assert.Throws<ArgumentException>(() => F.Linear(Tensor.Zeros([2, 5]), Tensor.Zeros([4, 5]), Tensor.Zeros([5])))!.Message;
        Assert.That(msg, Does.Contain("linear").And.Contain("bias"));
        msg = Assert.Throws<ArgumentException>(() => F.ChannelScale(Tensor.Zeros([2, 3, 4, 4]), Tensor.Zeros([2, 4])))!.Message;
        Assert.That(msg, Does.Contain("channel_scale").And.Contain("[2x3]"));
        msg = Assert.Throws<ArgumentException>(() => F.ChannelScale(Tensor.Zeros([2, 3, 4]), Tensor.Zeros([2, 3])))!.Message;
        Assert.That(msg, Does.Contain("channel_scale").And.Contain("[B,C,H,W]"));
    }
}
