using Astmt.Engine.Cpu;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>
/// Winograd F(2x2,3x3) forward and stride-1 backward-data (<see cref="Conv2dWinograd"/>) against the float64 loop oracles of
/// <see cref="ConvTests"/>, on odd sizes (partial tiles), channel counts that are not multiples of any microkernel's MR or
/// NR, padding 0..2, every microkernel the CPU supports, one and many tile blocks and k blocks.
/// <para>
/// Tolerance: inputs and weights are standard normal, so an output is a sum of 9·depth products with standard deviation
/// √(9·depth). The transforms only add, subtract and halve (exact constants), but they form sums of up to 16 inputs and
/// 9 weights before the products and of 9 products after them, so the float32 rounding error is a few times a direct
/// convolution's: measured at most 5e-7·√(9·depth) (9e-6 at depth 40, against 2e-6·√(9·depth) allowed for the implicit
/// GEMM in <see cref="ConvTests"/>). The tolerance 4e-6·√(9·depth) + 1e-5·|y| leaves an 8x margin and is still five
/// orders of magnitude below the error of any wrong tap, sign or tile (O(1)).
/// </para>
/// </summary>
public class Conv2dWinogradTests : GemmSettingsFixture
{
    [TearDown]
    public void RestoreWinogradSettings()
    {
        Conv2dWinograd.ForcedBlockTiles = null;
        Conv2dWinograd.PortableTransforms = false;
        Conv2dWinograd.MinChannels = 16;
        Conv2dWinograd.MinTiles = 64;
    }

    /// <summary>Batch, input channels C, height, width, output channels K, padding.</summary>
    public sealed record Shape(int B, int C, int H, int W, int K, int Padding)
    {
        public override string ToString() => $"x{B}x{C}x{H}x{W} k{K} p{Padding}";
    }

    private static readonly Shape[] Shapes =
    [
        new(1, 3, 1, 1, 5, 1),      // a single partial tile, every tap but the centre in the padding
        new(2, 5, 4, 6, 3, 0),      // P, Q even: whole tiles only
        new(3, 17, 7, 9, 5, 1),     // P, Q odd: partial tiles in the last row and column; tile groups cross rows and images
        new(1, 40, 13, 12, 17, 2),  // padding 2: the output is larger than the input
        new(2, 17, 5, 13, 40, 1),
        new(1, 3, 12, 40, 6, 1),    // rows of 20 tiles: groups of eight within a row (interior and edge strips) and across rows
        new(2, 9, 3, 37, 11, 0),    // one tile row per image, P odd (1)
    ];

    private static IEnumerable<TestCaseData> Cases() => KernelShapeBlockCases(Shapes);

    [TestCaseSource(nameof(Cases))]
    public void ForwardMatchesFloat64Loops(GemmKernel kernel, Shape s, bool smallBlocks)
    {
        Use(kernel, smallBlocks);
        var rng = new Random(31 + s.H * 7 + s.W);
        var c = Config(s);
        var x = RandomFloats(rng, s.B * s.C * s.H * s.W);
        var w = RandomFloats(rng, s.K * s.C * 9);
        var expected = ConvTests.Reference(c, ToDouble(x), ToDouble(w), null, out int p, out int q);
        var g = Conv2dGeometry.Create("test", s.B, s.C, s.H, s.W, s.K, 3, 3, 1, s.Padding, 1, s.ToString());
        // Offsets and a NaN-filled output: the path must honour offsets and overwrite every element.
        var xs = new float[x.Length + 3];
        x.CopyTo(xs, 3);
        var y = new float[expected.Length + 5];
        Array.Fill(y, float.NaN);
        Conv2dWinograd.Forward(g, xs, 3, w, y, 5);
        Numeric.AssertClose(expected, ToDouble(y.AsSpan(5)), Tolerance(s.C), 1e-5, $"winograd forward {s} on {kernel}");
    }

    [TestCaseSource(nameof(Cases))]
    public void BackwardDataMatchesFloat64Loops(GemmKernel kernel, Shape s, bool smallBlocks)
    {
        Use(kernel, smallBlocks);
        var rng = new Random(37 + s.H * 7 + s.W);
        var c = Config(s);
        var g = Conv2dGeometry.Create("test", s.B, s.C, s.H, s.W, s.K, 3, 3, 1, s.Padding, 1, s.ToString());
        var gy = RandomFloats(rng, s.B * s.K * g.P * g.Q);
        var w = RandomFloats(rng, s.K * s.C * 9);
        var expected = ReferenceInputGrad(c, g.P, g.Q, ToDouble(gy), ToDouble(w));
        var gx = new float[expected.Length + 2];
        Array.Fill(gx, float.NaN);
        var gys = new float[gy.Length + 1];
        gy.CopyTo(gys, 1);
        Conv2dWinograd.BackwardData(g, gys, 1, w, gx, 2);
        Numeric.AssertClose(expected, ToDouble(gx.AsSpan(2)), Tolerance(s.K), 1e-5, $"winograd backward-data {s} on {kernel}");
    }

    [TestCaseSource(nameof(PortableCases))]
    public void PortableTransformsGiveTheSameBits(Shape s)
    {
        // The transforms without AVX shuffles and masked loads (what a non-x86 CPU runs) against the vector ones.
        var rng = new Random(47);
        var g = Conv2dGeometry.Create("test", s.B, s.C, s.H, s.W, s.K, 3, 3, 1, s.Padding, 1, s.ToString());
        var x = RandomFloats(rng, s.B * s.C * s.H * s.W);
        var gy = RandomFloats(rng, s.B * s.K * g.P * g.Q);
        var w = RandomFloats(rng, s.K * s.C * 9);
        float[][] Run()
        {
            var y = new float[s.B * s.K * g.P * g.Q];
            var gx = new float[x.Length];
            Conv2dWinograd.Forward(g, x, 0, w, y, 0);
            Conv2dWinograd.BackwardData(g, gy, 0, w, gx, 0);
            return [y, gx];
        }
        var vector = Run();
        Conv2dWinograd.PortableTransforms = true;
        var portable = Run();
        Assert.That(portable[0], Is.EqualTo(vector[0]), "forward");
        Assert.That(portable[1], Is.EqualTo(vector[1]), "backward-data");
        var expected = ConvTests.Reference(Config(s), ToDouble(x), ToDouble(w), null, out _, out _);
        Numeric.AssertClose(expected, ToDouble(portable[0]), Tolerance(s.C), 1e-5, "portable forward");
    }

    public static IEnumerable<Shape> PortableCases() => [Shapes[2], Shapes[3], Shapes[5]];

    [Test]
    public void DispatchedConvolutionAndGradientsMatchFloat64Loops()
    {
        // Through F.Conv2d and its autograd with the dispatch thresholds lowered, so that this small problem takes the path.
        Conv2dWinograd.MinChannels = 1;
        Conv2dWinograd.MinTiles = 1;
        var rng = new Random(41);
        var c = new ConvTests.Config(2, 6, 9, 10, 7, 3, 3, 1, 1, 1, true);
        var x = Numeric.RandomFloat(rng, c.B, c.C, c.H, c.W);
        var w = Numeric.RandomFloat(rng, c.K, c.C, 3, 3);
        var b = Numeric.RandomFloat(rng, c.K);
        var expected = ConvTests.Reference(c, x.ToDoubleArray(), w.ToDoubleArray(), b.ToDoubleArray(), out int p, out int q);
        var gy = Numeric.RandomFloat(rng, c.B, c.K, p, q);
        var gxExpected = ReferenceInputGrad(c, p, q, gy.ToDoubleArray(), w.ToDoubleArray());
        x.RequiresGrad = true;
        var y = F.Conv2d(x, w, b, 1, 1);
        Numeric.AssertClose(expected, y.ToDoubleArray(), Tolerance(c.C), 1e-5, "dispatched forward");
        F.Sum(F.Mul(y, gy)).Backward();
        Numeric.AssertClose(gxExpected, x.Grad!.ToDoubleArray(), Tolerance(c.K), 1e-5, "dispatched input gradient");
    }

    // Two blocks of tiles (U transformed before the items) and many small ones; one block (U transformed inside the
    // items, rows split between them). Forward and backward-data through the dispatch.
    [TestCase(2, 11, 13, 0)]
    [TestCase(2, 11, 13, 8)]
    [TestCase(1, 7, 9, 0)]
    public void ResultsDoNotDependOnThreadCount(int batch, int height, int width, int blockTiles)
    {
        Conv2dWinograd.MinChannels = 1;
        Conv2dWinograd.MinTiles = 1;
        if (blockTiles > 0) Conv2dWinograd.ForcedBlockTiles = blockTiles;
        var rng = new Random(43);
        var x = Numeric.RandomFloat(rng, batch, 19, height, width);
        var w = Numeric.RandomFloat(rng, 70, 19, 3, 3);
        var gy = Numeric.RandomFloat(rng, batch, 70, height, width);
        ThreadCount.AssertSameOnOneAndTwoThreads(() =>
            [F.Conv2d(x, w, null, 1, 1).ToDoubleArray(), F.Conv2dInputGrad(gy, w, height, width, 1, 1).ToDoubleArray()]);
    }

    [Test]
    public void DispatchSkipsUnsupportedAndThinShapes()
    {
        var thin = Conv2dGeometry.Create("test", 2, 3, 96, 128, 64, 3, 3, 1, 1, 1, "first layer");
        var wide = Conv2dGeometry.Create("test", 2, 64, 96, 128, 64, 3, 3, 1, 1, 1, "64 channels");
        var strided = Conv2dGeometry.Create("test", 2, 64, 96, 128, 64, 3, 3, 2, 1, 1, "stride 2");
        var dilated = Conv2dGeometry.Create("test", 2, 64, 96, 128, 64, 3, 3, 1, 2, 2, "dilation 2");
        Assert.That(Conv2dWinograd.UseForForward(thin), Is.False);
        Assert.That(Conv2dWinograd.UseForBackwardData(thin), Is.False);
        Assert.That(Conv2dWinograd.UseForForward(strided) || Conv2dWinograd.UseForForward(dilated), Is.False);
        Assert.That(Conv2dWinograd.UseForForward(wide), Is.EqualTo(Conv2dWinograd.Enabled));
        Assert.That(Assert.Throws<ArgumentException>(() => Conv2dWinograd.Forward(strided, new float[2 * 64 * 96 * 128], 0, new float[64 * 64 * 9],
            new float[2 * 64 * 48 * 64], 0))!.Message, Does.Contain("winograd").And.Contain("stride 2"));
    }

    // ---------------------------------------------------------------- helpers

    private void Use(GemmKernel kernel, bool smallBlocks)
    {
        Gemm.Kernel = kernel;
        if (!smallBlocks) return;
        // Depth in k blocks of 5 and blocks of one NR panel: every loop of the path runs several times.
        GemmBlocking.Forced = new GemmBlocking(KC: 5, MC: 16, NC: 40);
        Conv2dWinograd.ForcedBlockTiles = 1;
    }

    private static double Tolerance(int depth) => 4e-6 * Math.Sqrt(9.0 * depth);

    private static ConvTests.Config Config(Shape s) => new(s.B, s.C, s.H, s.W, s.K, 3, 3, 1, s.Padding, 1, false);

    private static float[] RandomFloats(Random rng, int n)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float)Numeric.Gaussian(rng);
        return data;
    }

    private static double[] ToDouble(ReadOnlySpan<float> data)
    {
        var result = new double[data.Length];
        for (int i = 0; i < data.Length; i++) result[i] = data[i];
        return result;
    }

    /// <summary>The input gradient of the definition, loop by loop in float64 (<see cref="ConvTests"/>'s reference; its weight
    /// gradient, taken against a zero input, is not used).</summary>
    private static double[] ReferenceInputGrad(ConvTests.Config c, int p, int q, double[] gy, double[] w)
    {
        ConvTests.ReferenceBackward(c, new double[c.B * c.C * c.H * c.W], w, gy, p, q, out var gx, out _);
        return gx;
    }
}
