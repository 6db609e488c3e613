using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;
using Astmt.Models.Astmt;
using NUnit.Framework;

namespace Astmt.Models.Tests.Astmt;

/// <summary>Where the discriminator's reversed gradient goes. For a loss whose gradient with respect to the features depends on them
/// (semseg, edges) it reaches the encoder through the second-order graph; for depth (L1 and Sobel-L1 have piecewise-constant gradients)
/// the feature gradient depends only on the head, so the reversed signal stops there (issue 6 item 2).</summary>
public class AstmtAdversarialTests
{
    private static AstmtConfig Config() => new()
    {
        Tasks = [AstmtTask.Semseg(4), AstmtTask.Depth, AstmtTask.Edge],
        CustomBlocks = [1, 1, 1, 1],
        WidthDivisor = 8,
        Adversarial = true,
    };

    private static Dictionary<string, double[]> Gradients(string task, bool adversarial)
    {
        var network = new AstmtNetwork(Config(), seed: 21).To(DType.Float64);
        var g = new Generator(22);
        var x = Tensor.Empty([2, 3, 32, 32], DType.Float64);
        Init.Uniform(x, 0, 255, g);
        var gt = Tensor.Empty([2, 1, 32, 32], DType.Float64);
        Init.Uniform(gt, 0, 3.999, g);
        if (task == "semseg") gt = Tensor.FromArray(gt.ToDoubleArray().Select(Math.Floor).ToArray(), 2, 1, 32, 32);
        if (task == "edge") gt = Tensor.FromArray(gt.ToDoubleArray().Select(v => v > 3.2 ? 1.0 : 0.0).ToArray(), 2, 1, 32, 32);
        var losses = AstmtAdversarial.Losses((AstmtNetwork)network, x, gt, task, alpha: 1.0, adversarial);
        (adversarial ? losses.Total : F.Mul(losses.Task, 0.99)).Backward();
        return network.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad?.ToDoubleArray() ?? new double[p.Parameter.Numel]);
    }

    private static double PartNorm(Dictionary<string, double[]> with, Dictionary<string, double[]> without, string name) =>
        Math.Sqrt(with[name].Zip(without[name], (a, b) => (a - b) * (a - b)).Sum());

    [TestCase("semseg")]
    [TestCase("edge")]
    public void ReversedGradientReachesTheEncoder(string task)
    {
        var with = Gradients(task, true);
        var without = Gradients(task, false);
        Assert.That(with.Values.All(v => v.All(double.IsFinite)), Is.True, "finite gradients");
        Assert.That(PartNorm(with, without, "conv1.weight"), Is.GreaterThan(1e-12));
        Assert.That(PartNorm(with, without, "layer1.0.conv2.weight"), Is.GreaterThan(1e-12));
        Assert.That(PartNorm(with, without, $"decoder.conv_predict.{task}.weight"), Is.GreaterThan(1e-12));
    }

    [Test]
    public void DepthReversedGradientStopsAtTheHead()
    {
        var with = Gradients("depth", true);
        var without = Gradients("depth", false);
        double head = PartNorm(with, without, "decoder.conv_predict.depth.weight");
        Assert.That(head, Is.GreaterThan(1e-12), "the head's weights shape the feature gradient");
        foreach (var name in new[] { "conv1.weight", "layer1.0.conv2.weight", "layer4.0.bn3.depth.weight", "decoder.conv_process.process.0.weight" })
            Assert.That(PartNorm(with, without, name), Is.LessThan(1e-9 * Math.Max(1, Math.Sqrt(without[name].Sum(v => v * v)))), name);
    }
}
