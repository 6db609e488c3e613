using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;
using Astmt.Models.Astmt;
using Astmt.Models.Losses;
using NUnit.Framework;

namespace Astmt.Models.Tests.Astmt;

/// <summary>ASTMT's losses against naive float64 loops written from the reference's formulas (spec §3.3).</summary>
public class AstmtLossTests
{
    private const int B = 2, H = 5, W = 6;

    private static double[] Random(int n, ulong seed, double low, double high)
    {
        var g = new Generator(seed);
        return Enumerable.Range(0, n).Select(_ => g.NextUniform(low, high)).ToArray();
    }

    private static Tensor T(double[] v, params int[] shape) => Tensor.FromArray(v, shape);

    private static Tensor Leaf(double[] v, params int[] shape)
    {
        var t = Tensor.FromArray(v, shape);
        t.RequiresGrad = true;
        return t;
    }

    private static double Bce(double x, double t) => Math.Max(x, 0) - x * t + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    [TestCase(0.95)]
    [TestCase(null)]
    public void BalancedBceWeighsPositivesAndNegatives(double? positiveWeight)
    {
        int n = B * H * W;
        var x = Random(n, 1, -3, 3);
        var gt = Random(n, 2, 0, 1).Select(v => v > 0.7 ? 1.0 : v > 0.65 ? 0.5 : 0.0).ToArray(); // 0.5 counts as positive
        double positives = gt.Count(v => v >= 0.5);
        double w = positiveWeight ?? (n - positives) / n;
        double expected = 0;
        for (int i = 0; i < n; i++) expected += (gt[i] >= 0.5 ? w : 1 - w) * Bce(x[i], gt[i] >= 0.5 ? 1 : 0);
        expected /= n;
        var logits = Leaf(x, B, 1, H, W);
        var loss = AstmtLosses.BalancedBce(logits, T(gt, B, 1, H, W), positiveWeight);
        Assert.That(loss.Item(), Is.EqualTo(expected).Within(1e-12));
        loss.Backward();
        var grad = logits.Grad!.ToDoubleArray();
        for (int i = 0; i < n; i++)
        {
            double t = gt[i] >= 0.5 ? 1 : 0;
            Assert.That(grad[i], Is.EqualTo((t == 1 ? w : 1 - w) * (1 / (1 + Math.Exp(-x[i])) - t) / n).Within(1e-12), $"gradient {i}");
        }
    }

    [Test]
    public void CrossEntropyIgnores255()
    {
        const int k = 4;
        var x = Random(B * k * H * W, 3, -2, 2);
        var labels = Random(B * H * W, 4, 0, k).Select(Math.Floor).ToArray();
        for (int i = 0; i < labels.Length; i += 7) labels[i] = 255;
        double sum = 0;
        int counted = 0;
        for (int b = 0; b < B; b++)
            for (int p = 0; p < H * W; p++)
            {
                double label = labels[b * H * W + p];
                if (label == 255) continue;
                double max = double.NegativeInfinity, z = 0;
                for (int c = 0; c < k; c++) max = Math.Max(max, x[(b * k + c) * H * W + p]);
                for (int c = 0; c < k; c++) z += Math.Exp(x[(b * k + c) * H * W + p] - max);
                sum += -(x[(b * k + (int)label) * H * W + p] - max - Math.Log(z));
                counted++;
            }
        Assert.That(AstmtLosses.CrossEntropy(T(x, B, k, H, W), T(labels, B, 1, H, W)).Item(), Is.EqualTo(sum / counted).Within(1e-12));
    }

    [Test]
    public void NormalsAreL1OnTheNormalisedOutputOverValidElements()
    {
        var x = Random(B * 3 * H * W, 5, -1, 1);
        var gt = Random(B * 3 * H * W, 6, -1, 1);
        for (int b = 0; b < B; b++)
            for (int p = 0; p < H * W; p += 4)
                for (int c = 0; c < 3; c++) gt[(b * 3 + c) * H * W + p] = 255;
        double sum = 0, valid = 0;
        for (int b = 0; b < B; b++)
            for (int p = 0; p < H * W; p++)
            {
                if (gt[b * 3 * H * W + p] == 255) continue;
                double norm = 0;
                for (int c = 0; c < 3; c++) norm += x[(b * 3 + c) * H * W + p] * x[(b * 3 + c) * H * W + p];
                norm = Math.Sqrt(norm) + 1e-12;
                for (int c = 0; c < 3; c++) sum += Math.Abs(x[(b * 3 + c) * H * W + p] / norm - gt[(b * 3 + c) * H * W + p]);
                valid += 3;
            }
        var prediction = Leaf(x, B, 3, H, W);
        var loss = AstmtLosses.Normals(prediction, T(gt, B, 3, H, W));
        Assert.That(loss.Item(), Is.EqualTo(sum / valid).Within(1e-12));
        loss.Backward();
        var grad = prediction.Grad!.ToDoubleArray();
        Assert.That(grad.All(double.IsFinite), Is.True);
        Assert.That(grad[0], Is.EqualTo(0), "void pixels get no gradient");
    }

    [Test]
    public void DepthIsL1PlusSobelGradientL1OverValidPixels()
    {
        var x = Random(B * H * W, 7, 0, 5);
        var gt = Random(B * H * W, 8, 0.5, 5);
        for (int i = 0; i < gt.Length; i += 5) gt[i] = 255;
        double l1 = 0, valid = 0, grad = 0;
        var zeroed = gt.Select(v => v == 255 ? 0 : v).ToArray();
        double At(double[] a, int b, int i, int j) => i < 0 || j < 0 || i >= H || j >= W ? 0 : a[b * H * W + i * W + j];
        for (int b = 0; b < B; b++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++)
                {
                    int k = b * H * W + i * W + j;
                    if (gt[k] != 255) { l1 += Math.Abs(x[k] - gt[k]); valid++; }
                    double Gx(double[] a) => At(a, b, i - 1, j - 1) - At(a, b, i - 1, j + 1) + 2 * At(a, b, i, j - 1) - 2 * At(a, b, i, j + 1) + At(a, b, i + 1, j - 1) - At(a, b, i + 1, j + 1);
                    double Gy(double[] a) => At(a, b, i - 1, j - 1) + 2 * At(a, b, i - 1, j) + At(a, b, i - 1, j + 1) - At(a, b, i + 1, j - 1) - 2 * At(a, b, i + 1, j) - At(a, b, i + 1, j + 1);
                    grad += Math.Abs(Gx(x) - Gx(zeroed)) + Math.Abs(Gy(x) - Gy(zeroed));
                }
        Assert.That(AstmtLosses.Depth(T(x, B, 1, H, W), T(gt, B, 1, H, W)).Item(), Is.EqualTo((l1 + grad) / valid).Within(1e-10));
    }

    [Test]
    public void WeightedLossUsesTheTaskMultiplier()
    {
        var x = Random(B * H * W, 9, -2, 2);
        var gt = Random(B * H * W, 10, 0, 1).Select(v => v > 0.5 ? 1.0 : 0).ToArray();
        double plain = AstmtLosses.BalancedBce(T(x, B, 1, H, W), T(gt, B, 1, H, W), 0.8).Item();
        Assert.That(AstmtLosses.Weighted(AstmtTask.Edge, T(x, B, 1, H, W), T(gt, B, 1, H, W), 0.8).Item(), Is.EqualTo(50 * plain).Within(1e-10));
        Assert.That(new[] { AstmtTask.Semseg(21).LossWeight, AstmtTask.HumanParts().LossWeight, AstmtTask.Normals.LossWeight, AstmtTask.Saliency.LossWeight, AstmtTask.Depth.LossWeight },
            Is.EqualTo(new[] { 1.0, 2, 10, 5, 1 }));
    }
}
