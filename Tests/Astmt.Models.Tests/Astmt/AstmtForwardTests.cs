using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;
using Astmt.Models.Astmt;
using NUnit.Framework;

namespace Astmt.Models.Tests.Astmt;

/// <summary>Single-tasking: a task's forward uses its own norms, SE, adapters and head and the shared modules; the encoder runs once
/// when it holds nothing task-specific, with the same outputs as per task.</summary>
public class AstmtForwardTests
{
    private static AstmtConfig Tiny(bool taskEncoder = true) => new()
    {
        Tasks = [AstmtTask.Semseg(4), AstmtTask.Normals, AstmtTask.Edge],
        CustomBlocks = [1, 1, 1, 1],
        WidthDivisor = 8,
        SeEncoder = taskEncoder,
        SeDecoder = true,
        Adapters = taskEncoder,
        TaskEncoderNorm = taskEncoder,
        Adversarial = false,
    };

    private static Tensor Input(int seed)
    {
        var g = new Generator((ulong)seed);
        var x = Tensor.Empty([2, 3, 32, 32]);
        Init.Uniform(x, 0, 255, g);
        return x;
    }

    /// <summary>Gives every adapter a small random weight so that a wrong adapter would change the output.</summary>
    private static void RandomizeAdapters(AstmtNetwork network)
    {
        var g = new Generator(7);
        using var _ = Autograd.NoGrad();
        foreach (var (name, p) in network.NamedParameters())
            if (name.Contains(".adapt.", StringComparison.Ordinal)) Init.Normal(p, 0, 0.01, g);
    }

    [TestCase("semseg")]
    [TestCase("normals")]
    public void ATasksPassTouchesItsOwnModulesAndTheSharedOnesOnly(string task)
    {
        var network = new AstmtNetwork(Tiny(), seed: 1);
        RandomizeAdapters(network);
        var output = network.Forward(Input(2), task);
        Assert.That(output.Prediction.Shape, Is.EqualTo(new[] { 2, network.Config.Tasks[network.TaskIndex(task)].OutChannels, 32, 32 }));
        Assert.That(output.Features.Shape, Is.EqualTo(new[] { 2, 64, 8, 8 }));
        F.Sum(F.Square(output.Prediction)).Backward();

        var others = network.Tasks.Where(t => t != task).ToArray();
        foreach (var (name, p) in network.NamedParameters())
        {
            bool own = name.Split('.').Contains(task);
            bool other = others.Any(o => name.Split('.').Contains(o));
            if (other) Assert.That(p.Grad, Is.Null, $"{name} belongs to another task");
            else if (own || name.StartsWith("conv1.", StringComparison.Ordinal) || name.Contains(".conv", StringComparison.Ordinal) || name.Contains(".process.", StringComparison.Ordinal))
                Assert.That(p.Grad, Is.Not.Null, $"{name} is used by {task}");
        }
        Assert.That(network.Tasks.Select(t => network.StateDict()[$"layer2.0.bn1.{t}.num_batches_tracked"].Item()),
            Is.EqualTo(network.Tasks.Select(t => t == task ? 1.0 : 0.0)), "only this task's batch norm saw the batch");
        Assert.That(network.StateDict()["bn1.num_batches_tracked"].Item(), Is.EqualTo(1), "the stem norm is shared");
    }

    [Test]
    public void ChangingAnotherTasksModulesLeavesTheOutputAloneAndChangingOwnChangesIt()
    {
        var network = new AstmtNetwork(Tiny(), seed: 3);
        RandomizeAdapters(network);
        // Train mode: batch statistics keep the signal at unit scale, so a change deep in the encoder reaches the output.
        var x = Input(4);
        double[] Run() { using (Autograd.NoGrad()) return network.Forward(x, "semseg").Prediction.ToDoubleArray(); }
        var before = Run();
        var state = network.StateDict();
        using (Autograd.NoGrad())
        {
            foreach (var key in new[] { "layer3.0.se.fc.normals.2.bias", "layer3.0.adapt.normals.weight", "layer3.0.bn2.normals.bias", "decoder.conv_process.se.fc.normals.2.bias", "decoder.conv_predict.normals.bias" })
                state[key].FillInPlace(0.3);
        }
        Assert.That(MaxDifference(Run(), before), Is.EqualTo(0), "other tasks' modules are not used");
        foreach (var key in new[] { "layer3.0.se.fc.semseg.2.bias", "layer3.0.adapt.semseg.weight", "layer3.0.bn2.semseg.bias", "decoder.conv_process.se.fc.semseg.2.bias" })
        {
            var reference = Run();
            using (Autograd.NoGrad()) state[key].FillInPlace(0.3);
            Assert.That(MaxDifference(Run(), reference), Is.GreaterThan(1e-4), key + " is used by semseg");
        }
    }

    private static double MaxDifference(double[] a, double[] b) => a.Zip(b, (u, v) => Math.Abs(u - v)).Max();

    [Test]
    public void TaskAgnosticEncoderRunsOnceWithTheSameOutputsAsPerTask()
    {
        var config = Tiny(taskEncoder: false);
        Assert.That(config.EncoderIsTaskSpecific, Is.False);
        var network = new AstmtNetwork(config, seed: 5);
        var x = Input(6);
        var once = network.ForwardTasks(x);
        Assert.That(network.StateDict()["layer1.0.bn1.num_batches_tracked"].Item(), Is.EqualTo(1), "one encoder pass for three tasks");
        foreach (var task in network.Tasks)
        {
            var single = network.Forward(x, task);
            Assert.That(MaxDifference(once[task].Prediction.ToDoubleArray(), single.Prediction.ToDoubleArray()), Is.EqualTo(0), task + " prediction");
            Assert.That(MaxDifference(once[task].Features.ToDoubleArray(), single.Features.ToDoubleArray()), Is.EqualTo(0), task + " features");
        }
        Assert.That(AstmtComplexity.Measure(config, 32, 32).EncoderPasses, Is.EqualTo(1));

        var specific = new AstmtNetwork(Tiny(taskEncoder: true), seed: 5);
        specific.ForwardTasks(x);
        Assert.That(specific.StateDict()["bn1.num_batches_tracked"].Item(), Is.EqualTo(3), "a task-specific encoder runs once per task");
    }

    [Test]
    public void AdaptersStartAtZeroSoTheNetworkEqualsTheSharedOne()
    {
        var network = new AstmtNetwork(Tiny(), seed: 8);
        var adapters = network.NamedParameters().Where(p => p.Name.Contains(".adapt.", StringComparison.Ordinal)).ToList();
        Assert.That(adapters, Is.Not.Empty);
        Assert.That(adapters.SelectMany(p => p.Parameter.ToDoubleArray()).All(v => v == 0), Is.True);
        var convs = network.NamedParameters().Where(p => p.Name.EndsWith("conv2.weight", StringComparison.Ordinal)).SelectMany(p => p.Parameter.ToDoubleArray()).ToArray();
        double std = Math.Sqrt(convs.Sum(v => v * v) / convs.Length);
        Assert.That(std, Is.EqualTo(0.01).Within(0.001), "conv weights ~ N(0, 0.01)");
    }

    [TestCase(16, 2, new[] { 6, 12, 18 })]
    [TestCase(8, 4, new[] { 12, 24, 36 })]
    public void OutputStrideSetsTheLastStagesDilationAndTheAsppRates(int outputStride, int layer4Dilation, int[] rates)
    {
        var network = new AstmtNetwork(Tiny() with { OutputStride = outputStride }, seed: 9);
        Assert.That(network.Rates, Is.EqualTo(rates));
        Assert.That(network.Decoder.Aspp.Branches.Skip(1).Take(3).Select(b => b.Conv.Dilation), Is.EqualTo(rates));
        var layer4 = (SEBottleneck)network.Layers[3].Blocks[0];
        Assert.That(layer4.Conv2.Dilation, Is.EqualTo(layer4Dilation));
        Assert.That(layer4.Conv2.Padding, Is.EqualTo(layer4Dilation));
        Assert.That(((SEBottleneck)network.Layers[1].Blocks[0]).Conv1.Stride, Is.EqualTo(2), "the stride sits on the first 1x1");
        Assert.That(((SEBottleneck)network.Layers[1].Blocks[0]).Conv2.Stride, Is.EqualTo(1));
        var encoded = network.Encode(Input(10), "semseg");
        Assert.That(encoded.Low.Shape[2], Is.EqualTo(8), "layer1 at stride 4");
        Assert.That(encoded.High.Shape[2], Is.EqualTo(32 / outputStride), "layer4 at the output stride");
        Assert.That(network.Forward(Input(10), "edge").Prediction.Shape, Is.EqualTo(new[] { 2, 1, 32, 32 }));
    }

    [Test]
    public void BadInputFailsNamingTheProblem()
    {
        var network = new AstmtNetwork(Tiny(), seed: 1);
        Assert.That(() => network.Forward(Input(1), "depth"), Throws.ArgumentException.With.Message.Contains("unknown task 'depth'"));
        Assert.That(() => network.Forward(Tensor.Zeros([2, 1, 32, 32]), "semseg"), Throws.ArgumentException.With.Message.Contains("[B,3,H,W]"));
        Assert.That(() => new AstmtNetwork(Tiny() with { OutputStride = 32 }), Throws.ArgumentException.With.Message.Contains("output stride"));
        Assert.That(() => AstmtConfig.ParseModel("astmt-r18"), Throws.ArgumentException.With.Message.Contains("astmt-r26"));
        // Width 16 would leave the low-level path 3 channels, which its SE (reduction 4) cannot reduce: the config says so first.
        Assert.That(() => new AstmtNetwork(Tiny() with { DecoderWidth = 16 }), Throws.ArgumentException.With.Message.Contains("decoder width must be a multiple of 16 from 32"));
    }
}
