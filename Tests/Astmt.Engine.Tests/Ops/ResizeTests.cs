using System.Text.Json;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

public class ResizeTests
{
    public static IEnumerable<TestCaseData> OracleCases()
    {
        int[][] shapes = [[2, 3, 5, 7], [1, 2, 9, 8], [1, 1, 1, 1], [1, 2, 45, 65]];
        (int, int)[] sizes = [(11, 13), (4, 3), (1, 1), (9, 8), (90, 130)];
        foreach (var s in shapes)
        foreach (var (oh, ow) in sizes)
        foreach (var (mode, align) in new[] { (ResizeMode.Bilinear, true), (ResizeMode.Bilinear, false), (ResizeMode.Nearest, false) })
            yield return new TestCaseData(s, oh, ow, mode, align).SetArgDisplayNames(ShapeUtil.Format(s), $"{oh}x{ow}", mode.ToString(), align ? "align" : "no-align");
    }

    [TestCaseSource(nameof(OracleCases))]
    public void ForwardAndBackwardMatchFloat64Loops(int[] shape, int outH, int outW, ResizeMode mode, bool align)
    {
        var rng = new Random(41);
        var x = Numeric.RandomDouble(rng, shape);
        var gy = Numeric.RandomDouble(rng, shape[0], shape[1], outH, outW);
        var (expected, expectedGx) = Reference(x.ToDoubleArray(), gy.ToDoubleArray(), shape, outH, outW, mode, align, null);
        Numeric.AssertClose(expected, F.Interpolate(x, outH, outW, mode, align).ToDoubleArray(), 1e-13, 1e-12, "float64 forward");
        var geo = ResizeGeometry.Create("test", shape, outH, outW, mode, align, null, null);
        Numeric.AssertClose(expectedGx, F.ResizeGrad(gy, geo).ToDoubleArray(), 1e-12, 1e-12, "float64 backward");
        Numeric.AssertClose(expected, F.Interpolate(x.To(DType.Float32), outH, outW, mode, align).ToDoubleArray(), 1e-5, 1e-5, "float32 forward");
        Numeric.AssertClose(expectedGx, F.ResizeGrad(gy.To(DType.Float32), geo).ToDoubleArray(), 1e-4, 1e-5, "float32 backward");
    }

    [TestCase(2.0, ResizeMode.Bilinear, false)]
    [TestCase(1.7, ResizeMode.Bilinear, false)]
    [TestCase(0.5, ResizeMode.Bilinear, true)]
    [TestCase(1.7, ResizeMode.Nearest, false)]
    public void ByScaleUsesTheScaleAsSourceStep(double scale, ResizeMode mode, bool align)
    {
        var rng = new Random(42);
        int[] shape = [1, 2, 5, 6];
        var x = Numeric.RandomDouble(rng, shape);
        int oh = (int)Math.Floor(5 * scale), ow = (int)Math.Floor(6 * scale);
        var (expected, _) = Reference(x.ToDoubleArray(), new double[2 * oh * ow], shape, oh, ow, mode, align, scale);
        var y = F.Interpolate(x, scale, mode, align);
        Assert.That(y.Shape, Is.EqualTo(new[] { 1, 2, oh, ow }));
        Numeric.AssertClose(expected, y.ToDoubleArray(), 1e-13, 1e-12, "by scale");
    }

    [Test]
    public void MatchesPyTorchGolden()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Path("resize_golden.json")));
        int checkedCases = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            var shape = c.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var outShape = c.GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var mode = c.GetProperty("mode").GetString() == "nearest" ? ResizeMode.Nearest : ResizeMode.Bilinear;
            bool align = c.GetProperty("align_corners").GetBoolean();
            var x = Tensor.FromArray(Doubles(c, "x"), shape);
            x.RequiresGrad = true;
            var y = c.GetProperty("size").ValueKind == JsonValueKind.Null
                ? F.Interpolate(x, c.GetProperty("scale").GetDouble(), mode, align)
                : F.Interpolate(x, outShape[2], outShape[3], mode, align);
            Assert.That(y.Shape, Is.EqualTo(outShape), $"{name}: output shape");
            Numeric.AssertClose(Doubles(c, "y"), y.ToDoubleArray(), 1e-12, 1e-12, $"{name}: output");
            var gx = Autograd.Autograd.Grad([y], [x], [Tensor.FromArray(Doubles(c, "probe"), outShape)])[0]!;
            Numeric.AssertClose(Doubles(c, "grad_x"), gx.ToDoubleArray(), 1e-12, 1e-12, $"{name}: input gradient");
            Autograd.Autograd.ReleaseStep();
            checkedCases++;
        }
        Assert.That(checkedCases, Is.GreaterThanOrEqualTo(17));
    }

    [TestCase(ResizeMode.Bilinear, true)]
    [TestCase(ResizeMode.Bilinear, false)]
    [TestCase(ResizeMode.Nearest, false)]
    public void GradientsMatchFiniteDifferences(ResizeMode mode, bool align)
    {
        var rng = new Random(43);
        GradCheck.Check(t => F.Interpolate(t[0], 7, 9, mode, align), [Numeric.RandomDouble(rng, 2, 2, 4, 5)]);
        GradCheck.Check(t => F.Interpolate(t[0], 3, 2, mode, align), [Numeric.RandomDouble(rng, 1, 2, 7, 5)]);
        GradCheck.Check(t => F.Interpolate(t[0], 1.5, mode, align), [Numeric.RandomDouble(rng, 1, 2, 4, 5)]);
        var geo = ResizeGeometry.Create("test", [1, 2, 4, 5], 7, 9, mode, align, null, null);
        GradCheck.Check(t => F.ResizeGrad(t[0], geo), [Numeric.RandomDouble(rng, 1, 2, 7, 9)]);
    }

    [TestCase(true)]
    [TestCase(false)]
    public void BilinearSecondOrderMatchesFiniteDifferences(bool align)
    {
        var rng = new Random(44);
        // Squaring after the resize makes the first-order gradient depend on x through the transposed resize.
        GradCheck.CheckSecondOrder(t =>
        {
            var r = F.Interpolate(t[0], 7, 6, ResizeMode.Bilinear, align);
            return F.Mul(r, r);
        }, [Numeric.RandomDouble(rng, 1, 2, 4, 3)]);
        GradCheck.CheckSecondOrder(t =>
        {
            var r = F.Interpolate(F.Mul(t[0], t[0]), 2.0, ResizeMode.Bilinear, align);
            return F.Mul(r, t[1]);
        }, [Numeric.RandomDouble(rng, 1, 1, 3, 4), Numeric.RandomDouble(rng, 1, 1, 6, 8)]);
    }

    [Test]
    public void ResultsDoNotDependOnThreadCount()
    {
        var rng = new Random(45);
        var x = Numeric.RandomFloat(rng, 3, 8, 23, 29);
        var gy = Numeric.RandomFloat(rng, 3, 8, 45, 61);
        var geo = ResizeGeometry.Create("test", x.Shape, 45, 61, ResizeMode.Bilinear, false, null, null);
        double[][] Run() => [F.Resize(x, geo).ToDoubleArray(), F.ResizeGrad(gy, geo).ToDoubleArray()];
        ThreadCount.AssertSameOnOneAndTwoThreads(Run);
    }

    [Test]
    public void BadInputFailsClearly()
    {
        var x = Tensor.Zeros([1, 2, 4, 4]);
        Assert.That(Assert.Throws<ArgumentException>(() => F.Interpolate(Tensor.Zeros([2, 4, 4]), 8, 8, ResizeMode.Bilinear))!.Message,
            Does.Contain("interpolate").And.Contain("rank-4"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Interpolate(x, 0, 8, ResizeMode.Bilinear))!.Message, Does.Contain("at least 1x1"));
        Assert.That(Assert.Throws<ArgumentException>(() => F.Interpolate(x, 8, 8, ResizeMode.Nearest, alignCorners: true))!.Message,
            Does.Contain("align_corners"));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.Interpolate(x, -2.0, ResizeMode.Bilinear));
        var geo = ResizeGeometry.Create("test", [1, 2, 4, 4], 8, 8, ResizeMode.Bilinear, false, null, null);
        Assert.That(Assert.Throws<ArgumentException>(() => F.ResizeGrad(Tensor.Zeros([1, 2, 7, 8]), geo))!.Message,
            Does.Contain("interpolate_grad").And.Contain("[1x2x8x8]"));
    }

    private static double[] Doubles(JsonElement c, string name) => c.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    // ---------------------------------------------------------------- float64 oracle: PyTorch's index rules, written out per element

    private static (double[] Y, double[] Gx) Reference(double[] x, double[] gy, int[] shape, int outH, int outW, ResizeMode mode, bool align, double? scale)
    {
        int planes = shape[0] * shape[1], h = shape[2], w = shape[3];
        var y = new double[planes * outH * outW];
        var gx = new double[x.Length];
        for (int c = 0; c < planes; c++)
        for (int i = 0; i < outH; i++)
        for (int j = 0; j < outW; j++)
        {
            var (h0, h1, lh) = Source(i, h, outH, mode, align, scale);
            var (w0, w1, lw) = Source(j, w, outW, mode, align, scale);
            int o = (c * outH + i) * outW + j, b = c * h * w;
            (int, double)[] taps = [(h0 * w + w0, (1 - lh) * (1 - lw)), (h0 * w + w1, (1 - lh) * lw), (h1 * w + w0, lh * (1 - lw)), (h1 * w + w1, lh * lw)];
            foreach (var (k, wt) in taps)
            {
                if (wt == 0) continue;
                y[o] += wt * x[b + k];
                gx[b + k] += wt * gy[o];
            }
        }
        return (y, gx);
    }

    private static (int I0, int I1, double Lambda) Source(int dst, int input, int output, ResizeMode mode, bool align, double? scale)
    {
        if (mode == ResizeMode.Nearest)
        {
            float s = scale.HasValue ? (float)(1.0 / scale.Value) : (float)input / output;
            int i = Math.Min((int)MathF.Floor(dst * s), input - 1);
            return (i, i, 0);
        }
        double src;
        if (align) src = output > 1 ? dst * (input - 1) / (double)(output - 1) : 0;
        else src = Math.Max((dst + 0.5) * (scale.HasValue ? 1.0 / scale.Value : input / (double)output) - 0.5, 0);
        int i0 = (int)Math.Floor(src);
        int i1 = Math.Min(i0 + 1, input - 1);
        return (i0, i1, src - i0);
    }
}
