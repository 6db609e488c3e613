using Astmt.Engine;
using Astmt.Models.Losses;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

/// <summary>The MTAN losses against naive float64 loops over the same data (spec §2).</summary>
public class LossTests
{
    private const int B = 2, H = 5, W = 7;

    private static double[] Random(Random rng, int n, double scale, double shift = 0) =>
        Enumerable.Range(0, n).Select(_ => shift + scale * (rng.NextDouble() * 2 - 1)).ToArray();

    [Test]
    public void DepthIsL1OverTheValidPixelsOfTheWholeBatch()
    {
        var rng = new Random(1);
        var pred = Random(rng, B * H * W, 2);
        var gt = Random(rng, B * H * W, 1, 2);
        for (int i = 0; i < gt.Length; i += 3) gt[i] = 0; // invalid pixels
        double sum = 0;
        int valid = 0;
        for (int i = 0; i < gt.Length; i++)
            if (gt[i] != 0) { sum += Math.Abs(pred[i] - gt[i]); valid++; }
        var loss = MtanLosses.Depth(Tensor.FromArray(pred, B, 1, H, W), Tensor.FromArray(gt, B, 1, H, W));
        Assert.That(loss.Item(), Is.EqualTo(sum / valid).Within(1e-12));
    }

    [Test]
    public void NormalIsOneMinusTheMeanCosineOverValidPixels()
    {
        var rng = new Random(2);
        var pred = Unit(Random(rng, B * 3 * H * W, 1));
        var gt = Unit(Random(rng, B * 3 * H * W, 1));
        int plane = H * W;
        for (int b = 0; b < B; b++)
            for (int p = 0; p < plane; p += 4)
                for (int c = 0; c < 3; c++) gt[(b * 3 + c) * plane + p] = 0;
        double dot = 0;
        int valid = 0;
        for (int b = 0; b < B; b++)
            for (int p = 0; p < plane; p++)
            {
                double d = 0, s = 0;
                for (int c = 0; c < 3; c++) { d += pred[(b * 3 + c) * plane + p] * gt[(b * 3 + c) * plane + p]; s += gt[(b * 3 + c) * plane + p]; }
                if (s != 0) { dot += d; valid++; }
            }
        var loss = MtanLosses.Normal(Tensor.FromArray(pred, B, 3, H, W), Tensor.FromArray(gt, B, 3, H, W));
        Assert.That(loss.Item(), Is.EqualTo(1 - dot / valid).Within(1e-12));
    }

    private static double[] Unit(double[] v)
    {
        int plane = H * W;
        for (int b = 0; b < B; b++)
            for (int p = 0; p < plane; p++)
            {
                double n = 0;
                for (int c = 0; c < 3; c++) n += v[(b * 3 + c) * plane + p] * v[(b * 3 + c) * plane + p];
                for (int c = 0; c < 3; c++) v[(b * 3 + c) * plane + p] /= Math.Sqrt(n);
            }
        return v;
    }

    [Test]
    public void SemanticIsNllIgnoringMinusOne()
    {
        var rng = new Random(3);
        const int classes = 4;
        int plane = H * W;
        var logits = Random(rng, B * classes * plane, 3);
        var logProbs = new double[logits.Length];
        for (int b = 0; b < B; b++)
            for (int p = 0; p < plane; p++)
            {
                double max = double.NegativeInfinity, z = 0;
                for (int c = 0; c < classes; c++) max = Math.Max(max, logits[(b * classes + c) * plane + p]);
                for (int c = 0; c < classes; c++) z += Math.Exp(logits[(b * classes + c) * plane + p] - max);
                for (int c = 0; c < classes; c++) logProbs[(b * classes + c) * plane + p] = logits[(b * classes + c) * plane + p] - max - Math.Log(z);
            }
        var labels = Enumerable.Range(0, B * plane).Select(i => i % 5 == 0 ? -1.0 : rng.Next(classes)).ToArray();
        double sum = 0;
        int counted = 0;
        for (int b = 0; b < B; b++)
            for (int p = 0; p < plane; p++)
            {
                int label = (int)labels[b * plane + p];
                if (label < 0) continue;
                sum -= logProbs[(b * classes + label) * plane + p];
                counted++;
            }
        // Labels arrive as floats, as the reference's loader returns them.
        var loss = MtanLosses.Semantic(Tensor.FromArray(logProbs, B, classes, H, W), Tensor.FromArray(labels, B, H, W));
        Assert.That(loss.Item(), Is.EqualTo(sum / counted).Within(1e-12));
    }

    [Test]
    public void MaskComesFromTheGroundTruthChannelSum()
    {
        // Channel 0 = (0, 1, 0.5, -0.5), channel 1 = (0, 0.5, -0.5, 0): sums 0, 1.5, 0, -0.5. The third pixel is non-zero yet
        // counts as invalid, because the reference tests the channel sum (kept as is).
        var gt = Tensor.FromArray(new[] { 0.0, 1.0, 0.5, -0.5, 0.0, 0.5, -0.5, 0.0 }, 1, 2, 2, 2);
        Assert.That(MtanLosses.ValidMask(gt).ToDoubleArray(), Is.EqualTo(new[] { 0.0, 1.0, 0.0, 1.0 }));
    }

    [Test]
    public void AnAllInvalidBatchFailsClearly()
    {
        var zeros = Tensor.Zeros([1, 1, 2, 2], DType.Float64);
        Assert.That(() => MtanLosses.Depth(zeros, zeros), Throws.InvalidOperationException.With.Message.Contains("no valid pixel"));
        Assert.That(() => MtanLosses.Depth(Tensor.Zeros([1, 1, 2, 3]), Tensor.Zeros([1, 1, 2, 2])), Throws.ArgumentException.With.Message.Contains("same shape"));
    }
}
