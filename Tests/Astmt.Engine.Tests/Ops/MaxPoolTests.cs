using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

public class MaxPoolTests
{
    public static IEnumerable<TestCaseData> ForwardCases() =>
        from s in new[] { new[] { 2, 3, 8, 10 }, [1, 2, 7, 9], [1, 1, 1, 1], [2, 1, 45, 65], [1, 3, 3, 2] }
        from p in new[] { (2, 2, 0), (3, 2, 1) }
        where s[2] + 2 * p.Item3 >= p.Item1 && s[3] + 2 * p.Item3 >= p.Item1
        select new TestCaseData(s, p.Item1, p.Item2, p.Item3).SetArgDisplayNames(ShapeUtil.Format(s), $"{p.Item1}x{p.Item1}/{p.Item2} pad {p.Item3}");

    [TestCaseSource(nameof(ForwardCases))]
    public void ValuesAndIndicesMatchFloat64Loops(int[] shape, int kernel, int stride, int padding)
    {
        var rng = new Random(31);
        // Few distinct values, so windows hold ties: the first maximum in scan order must win, as in PyTorch.
        var data = new double[ShapeUtil.Numel(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(-3, 4);
        var x = Tensor.FromArray(data, shape);
        var (expected, expectedIdx) = Reference(data, shape, kernel, stride, padding, out int p, out int q);
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var (y, idx) = F.MaxPool2dWithIndices(x.To(dtype), kernel, stride, padding);
            Assert.That(y.Shape, Is.EqualTo(new[] { shape[0], shape[1], p, q }));
            Assert.That(idx.DType, Is.EqualTo(DType.Int64));
            Assert.That(y.ToDoubleArray(), Is.EqualTo(expected), $"{dtype} values");
            Assert.That(idx.ToArray<long>(), Is.EqualTo(expectedIdx), $"{dtype} indices");
        }
    }

    [TestCase(2, 2, 0)]
    [TestCase(3, 2, 1)]
    public void NaNPropagatesAndTheLastNaNWins(int kernel, int stride, int padding)
    {
        // PyTorch's rule (val > max || isnan(val)): a NaN beats every number, and a later NaN replaces an earlier one.
        double nan = double.NaN;
        var x = Tensor.FromArray(new[] { 1, nan, 3, 2, 0, 5, nan, 1 }, 1, 1, 2, 4);
        var (y, idx) = F.MaxPool2dWithIndices(x, kernel, stride, padding);
        var (expected, expectedIdx) = ReferenceWithNaN(x.ToDoubleArray(), x.Shape, kernel, stride, padding);
        Assert.That(y.ToDoubleArray(), Is.EqualTo(expected));
        Assert.That(idx.ToArray<long>(), Is.EqualTo(expectedIdx));
    }

    [Test]
    public void NaNsAndTiesResolveByTheSameRuleInWideFloat32Rows()
    {
        // 38 columns: two eight-output vectors of the 2x2/2 row and a scalar tail; NaNs and ties land on every tap position.
        var rng = new Random(36);
        var data = new double[4 * 38];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(7) == 0 ? double.NaN : rng.Next(-2, 3);
        var x = Tensor.FromArray(data, 1, 1, 4, 38);
        var (y, idx) = F.MaxPool2dWithIndices(x.To(DType.Float32), 2, 2);
        var (expected, expectedIdx) = ReferenceWithNaN(data, x.Shape, 2, 2, 0);
        Assert.That(y.ToDoubleArray(), Is.EqualTo(expected));
        Assert.That(idx.ToArray<long>(), Is.EqualTo(expectedIdx));
    }

    [TestCase(2, 2, 0)]
    [TestCase(3, 2, 1)]
    public void GradientsMatchFiniteDifferences(int kernel, int stride, int padding)
    {
        var rng = new Random(32);
        GradCheck.Check(t => F.MaxPool2d(t[0], kernel, stride, padding), [Numeric.RandomDouble(rng, 2, 2, 5, 7)]);
    }

    [TestCase(2, 2, 0)]
    [TestCase(3, 2, 1)]
    public void SecondOrderThroughPoolMatchesFiniteDifferences(int kernel, int stride, int padding)
    {
        var rng = new Random(33);
        // The first-order gradient is a scatter of a function of the pooled values; differentiating it again runs the gather.
        GradCheck.CheckSecondOrder(t =>
        {
            var m = F.MaxPool2d(t[0], kernel, stride, padding);
            return F.Mul(m, m);
        }, [Numeric.RandomDouble(rng, 1, 2, 5, 6)]);
    }

    [Test]
    public void UnpoolMatchesFloat64LoopAndItsGradients()
    {
        var rng = new Random(34);
        var x = Numeric.RandomDouble(rng, 2, 3, 6, 8);
        var (pooled, idx) = F.MaxPool2dWithIndices(x, 2, 2);
        idx.Retain(); // used across the steps of the finite-difference checks below
        var up = F.MaxUnpool2d(pooled, idx, 6, 8);
        var pv = pooled.ToDoubleArray();
        var iv = idx.ToArray<long>();
        var expected = new double[x.Numel];
        for (int plane = 0; plane < 6; plane++)
            for (int j = 0; j < 12; j++) expected[plane * 48 + (int)iv[plane * 12 + j]] = pv[plane * 12 + j];
        Assert.That(up.ToDoubleArray(), Is.EqualTo(expected));

        var values = Numeric.RandomDouble(rng, 2, 3, 3, 4);
        GradCheck.Check(t => F.MaxUnpool2d(t[0], idx, 6, 8), [values]);
        GradCheck.CheckSecondOrder(t =>
        {
            var u = F.MaxUnpool2d(t[0], idx, 6, 8);
            return F.Mul(u, u);
        }, [values.Detach()]);
        GradCheck.Check(t => F.IndexGather2d(t[0], idx), [Numeric.RandomDouble(rng, 2, 3, 6, 8)]);
    }

    [Test]
    public void OverlappingWindowsAccumulateIndependentlyOfThreadCount()
    {
        var rng = new Random(35);
        var x = Numeric.RandomFloat(rng, 4, 8, 29, 31);
        double[][] Run()
        {
            var xs = x.Detach();
            xs.RequiresGrad = true;
            var y = F.MaxPool2d(xs, 3, 2, 1);
            var yv = y.ToDoubleArray();
            F.Sum(F.Mul(y, y)).Backward();
            return [yv, xs.Grad!.ToDoubleArray()];
        }
        ThreadCount.AssertSameOnOneAndTwoThreads(Run);
    }

    [Test]
    public void BadInputFailsClearly()
    {
        var x = Tensor.Zeros([1, 2, 4, 4]);
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => F.MaxPool2d(x, 2, 2, 2))!.Message, Does.Contain("max_pool2d").And.Contain("padding"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.MaxPool2d(Tensor.Zeros([2, 4, 4]), 2, 2))!.Message, Does.Contain("rank-4"));
        var values = Tensor.Zeros([1, 2, 2, 2]);
        Assert.That(Assert.Throws<ArgumentException>(() => F.MaxUnpool2d(values, Tensor.Zeros([1, 2, 2, 2]), 4, 4))!.Message,
            Does.Contain("max_unpool2d").And.Contain("Int64"));
        var bad = Tensor.FromArray(new long[] { 0, 1, 2, 16, 0, 1, 2, 3 }, 1, 2, 2, 2);
        Assert.That(Assert.Throws<ArgumentException>(() => F.MaxUnpool2d(values, bad, 4, 4))!.Message,
            Does.Contain("index 16").And.Contain("4x4"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.MaxUnpool2d(values, Tensor.FromArray(new long[4], 1, 1, 2, 2), 4, 4))!.Message,
            Does.Contain("shape of the values"));
    }

    // ---------------------------------------------------------------- float64 oracles

    private static (double[] Values, long[] Indices) ReferenceWithNaN(double[] x, int[] shape, int k, int s, int pad)
    {
        int h = shape[2], w = shape[3], p = (h + 2 * pad - k) / s + 1, q = (w + 2 * pad - k) / s + 1;
        var y = new double[p * q];
        var idx = new long[p * q];
        for (int i = 0; i < p; i++)
        for (int j = 0; j < q; j++)
        {
            double best = double.NegativeInfinity;
            long arg = Math.Max(i * s - pad, 0) * w + Math.Max(j * s - pad, 0);
            for (int hh = Math.Max(i * s - pad, 0); hh < Math.Min(i * s - pad + k, h); hh++)
            for (int ww = Math.Max(j * s - pad, 0); ww < Math.Min(j * s - pad + k, w); ww++)
            {
                double v = x[hh * w + ww];
                if (v > best || double.IsNaN(v)) { best = v; arg = hh * w + ww; }
            }
            y[i * q + j] = best;
            idx[i * q + j] = arg;
        }
        return (y, idx);
    }

    private static (double[] Values, long[] Indices) Reference(double[] x, int[] shape, int k, int s, int pad, out int p, out int q)
    {
        int planes = shape[0] * shape[1], h = shape[2], w = shape[3];
        p = (h + 2 * pad - k) / s + 1;
        q = (w + 2 * pad - k) / s + 1;
        var y = new double[planes * p * q];
        var idx = new long[y.Length];
        for (int c = 0; c < planes; c++)
        for (int i = 0; i < p; i++)
        for (int j = 0; j < q; j++)
        {
            double best = double.NegativeInfinity;
            long arg = -1;
            for (int r = 0; r < k; r++)
            for (int t = 0; t < k; t++)
            {
                int hh = i * s - pad + r, ww = j * s - pad + t;
                if (hh < 0 || hh >= h || ww < 0 || ww >= w) continue;
                double v = x[c * h * w + hh * w + ww];
                if (arg < 0 || v > best) { best = v; arg = hh * w + ww; }
            }
            y[(c * p + i) * q + j] = best;
            idx[(c * p + i) * q + j] = arg;
        }
        return (y, idx);
    }
}
