using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Models.Astmt;
using NUnit.Framework;

namespace Astmt.Models.Tests.Astmt;

/// <summary>Parameter groups, the GRL schedule, discriminator labels and the per-task optimizer step.</summary>
public class AstmtTrainingTests
{
    private static AstmtConfig Tiny() => TinyAstmt.AdversarialThreeTasks();

    [Test]
    public void GroupsPutTaskSpecificParametersAtTTimesAndTheDiscriminatorAtTen()
    {
        var network = new AstmtNetwork(Tiny(), initialize: false);
        var groups = AstmtTraining.ParameterGroups(network, 0.001);
        Assert.That(groups.Select(g => g.Name), Is.EqualTo(new[] { "shared", "task", "discriminator" }));
        var all = groups.SelectMany(g => g.ParameterNames).ToList();
        Assert.That(all, Is.EquivalentTo(network.NamedParameters().Select(p => p.Name)), "every parameter in exactly one group");
        Assert.That(groups[1].ParameterNames, Does.Contain("layer1.0.bn1.semseg.weight").And.Contain("decoder.conv_predict.edge.bias")
            .And.Contain("layer2.0.adapt.normals.weight").And.Contain("decoder.layer5.conv2d_list.0.se.fc.edge.0.weight"));
        Assert.That(groups[0].ParameterNames, Does.Contain("bn1.weight").And.Contain("layer1.0.conv2.weight").And.Contain("decoder.conv_process.process.0.weight"));
        Assert.That(groups[2].ParameterNames, Is.EqualTo(new[] { "discriminator.model.0.weight", "discriminator.model.2.weight", "discriminator.model.2.bias" }));
        var sgd = AstmtTraining.CreateOptimizer(network);
        Assert.That(sgd.ParamGroups.Select(g => g.LearningRate), Is.EqualTo(new[] { 0.001, 0.003, 0.01 }).Within(1e-15));
        Assert.That(sgd.Momentum, Is.EqualTo(0.9));
        Assert.That(sgd.ParamGroups.All(g => g.WeightDecay == 1e-4), Is.True);
    }

    [Test]
    public void AlphaFollowsGaninsSchedule()
    {
        Assert.That(AstmtAdversarial.Alpha(0.0), Is.EqualTo(0));
        Assert.That(AstmtAdversarial.Alpha(0, 60), Is.EqualTo(2 / (1 + Math.Exp(-10.0 / 60)) - 1).Within(1e-15));
        Assert.That(AstmtAdversarial.Alpha(0, 60), Is.EqualTo(0.083).Within(0.001));
        Assert.That(AstmtAdversarial.Alpha(59, 60), Is.GreaterThan(0.9999));
    }

    [Test]
    public void LabelsAreTheTaskIndexOnTheNearestResizedGridWithVoidKept()
    {
        var gt = new double[2 * 1 * 8 * 8];
        gt[0 * 64 + 0 * 8 + 0] = 255;    // (b0, y0, x0) → grid (0,0)
        gt[0 * 64 + 4 * 8 + 5] = 255;    // (b0, y4, x5) is not sampled: nearest picks x = 4, y = 4
        gt[1 * 64 + 6 * 8 + 2] = 255;    // (b1, y6, x2) → grid (3,1)
        var labels = AstmtAdversarial.Labels(Tensor.FromArray(gt, 2, 1, 8, 8), 2, 4, 4);
        Assert.That(labels.DType, Is.EqualTo(DType.Int64));
        Assert.That(labels.Shape, Is.EqualTo(new[] { 2, 4, 4 }));
        var v = labels.ToDoubleArray();
        for (int i = 0; i < v.Length; i++)
            Assert.That(v[i], Is.EqualTo(i == 0 || i == 16 + 3 * 4 + 1 ? 255 : 2), $"label {i}");
    }

    [Test]
    public void PerTaskStepSkipsVoidTasksAndLeavesOtherTasksParametersUntouched()
    {
        var network = new AstmtNetwork(Tiny(), seed: 11);
        var optimizer = AstmtTraining.CreateOptimizer(network);
        var g = new Generator(12);
        var x = Tensor.Empty([2, 3, 32, 32]);
        Init.Uniform(x, 0, 255, g);
        var semseg = Tensor.Empty([2, 1, 32, 32]);
        Init.Uniform(semseg, 0, 3.999, g);
        semseg = Tensor.FromArray(semseg.ToDoubleArray().Select(Math.Floor).Select(v => (float)v).ToArray(), 2, 1, 32, 32);
        var edge = Tensor.FromArray(Enumerable.Range(0, 2 * 32 * 32).Select(i => i % 9 == 0 ? 1f : 0f).ToArray(), 2, 1, 32, 32);
        var normals = Tensor.Full([2, 3, 32, 32], 255);
        var before = network.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToDoubleArray());

        var steps = AstmtTraining.TrainStep(network, optimizer, x, new Dictionary<string, Tensor> { ["semseg"] = semseg, ["normals"] = normals, ["edge"] = edge }, alpha: 0.5);
        Assert.That(steps.Select(s => s.Task), Is.EqualTo(new[] { "semseg", "edge" }), "normals is entirely void and skipped");
        Assert.That(steps.All(s => double.IsFinite(s.TaskLoss) && s.DiscriminatorLoss is > 0 && s.DiscriminatorAccuracy is >= 0 and <= 1), Is.True);

        foreach (var (name, p) in network.NamedParameters())
        {
            bool changed = !before[name].SequenceEqual(p.ToDoubleArray());
            if (name.Split('.').Contains("normals"))
                Assert.That(changed, Is.False, $"{name}: no gradient, so no momentum and no weight decay either");
            // (An SE's first layer can sit behind a ReLU whose few hidden units are all off for this batch, so it is not required to move.)
            else if ((name.Split('.').Contains("semseg") && !name.Contains(".se.fc.semseg.0.", StringComparison.Ordinal)) || name.EndsWith("conv1.weight", StringComparison.Ordinal) || name.StartsWith("discriminator.model.0", StringComparison.Ordinal))
                Assert.That(changed, Is.True, $"{name} is trained");
        }
    }

    [Test]
    public void SummedModeTakesOneStepOnTheSumOfTheTasksGradients()
    {
        var g = new Generator(31);
        var x = Tensor.Empty([2, 3, 32, 32]);
        Init.Uniform(x, 0, 255, g);
        var semseg = Tensor.FromArray(Enumerable.Range(0, 2 * 32 * 32).Select(i => (float)(i * 7 % 4)).ToArray(), 2, 1, 32, 32);
        var edge = Tensor.FromArray(Enumerable.Range(0, 2 * 32 * 32).Select(i => i % 5 == 0 ? 1f : 0f).ToArray(), 2, 1, 32, 32);
        var normals = Tensor.FromArray(Enumerable.Range(0, 2 * 3 * 32 * 32).Select(i => i < 2 * 32 * 32 ? 1f : 0f).ToArray(), 2, 3, 32, 32);
        var gts = new Dictionary<string, Tensor> { ["semseg"] = semseg, ["normals"] = normals, ["edge"] = edge };

        // Reference: the same network accumulates every task's total into one set of gradients.
        var reference = new AstmtNetwork(Tiny(), seed: 13);
        foreach (var task in reference.Tasks) AstmtAdversarial.Losses(reference, x, gts[task], task, 0.5).Total.Backward();
        var grads = reference.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad?.ToDoubleArray());

        var network = new AstmtNetwork(Tiny(), seed: 13);
        var before = network.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToDoubleArray());
        var optimizer = AstmtTraining.CreateOptimizer(network, 0.001);
        AstmtTraining.TrainStep(network, optimizer, x, gts, 0.5, AstmtStepMode.Summed);
        var rates = optimizer.ParamGroups.SelectMany(group => group.ParameterNames.Select(n => (n, group.LearningRate))).ToDictionary(t => t.n, t => t.LearningRate);
        foreach (var name in new[] { "conv1.weight", "layer1.0.conv2.weight", "layer1.0.bn1.normals.weight", "decoder.conv_predict.edge.weight", "discriminator.model.2.bias" })
        {
            var after = network.NamedParameters().First(p => p.Name == name).Parameter.ToDoubleArray();
            var grad = grads[name]!;
            for (int i = 0; i < after.Length; i += Math.Max(1, after.Length / 50))
            {
                // First SGD step with momentum: the buffer is the decayed gradient itself.
                double expectedDelta = -rates[name] * (grad[i] + 1e-4 * before[name][i]);
                Assert.That(after[i] - before[name][i], Is.EqualTo(expectedDelta).Within(2e-3 * Math.Abs(expectedDelta) + 1e-9), $"{name}[{i}]");
            }
        }
    }
}
