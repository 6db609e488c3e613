using Astmt.Engine.NN;
using NUnit.Framework;

namespace Astmt.Engine.Tests.NN;

public class ModuleTests
{
    /// <summary>Registers, in this order: child conv "a", parameter "p", buffer "buf", child batch norm "b", parameter "q".</summary>
    private sealed class Mixed : Module
    {
        public Mixed()
        {
            RegisterModule("a", new Conv2d(1, 2, 3));
            RegisterParameter("p", Tensor.Zeros([2]));
            RegisterBuffer("buf", Tensor.Zeros([1]));
            RegisterModule("b", new BatchNorm2d(2));
            RegisterParameter("q", Tensor.Zeros([1]));
            RegisterBuffer("scratch", Tensor.Zeros([1]), persistent: false);
        }
    }

    private static Sequential ConvLayer(int ci, int co) => new(new Conv2d(ci, co, 3, padding: 1), new BatchNorm2d(co), new ReLU());

    [Test]
    public void StateDictOrderIsPyTorchs()
    {
        // Printed by PyTorch 1.13 for the same registration order: own parameters, own buffers, then children.
        string[] expected = ["p", "q", "buf", "a.weight", "a.bias", "b.weight", "b.bias", "b.running_mean", "b.running_var", "b.num_batches_tracked"];
        Assert.That(new Mixed().StateDict().Keys, Is.EqualTo(expected));
    }

    [Test]
    public void NamedParametersAreStateDictOrderWithoutBuffers()
    {
        // PyTorch: ['p', 'q', 'a.weight', 'a.bias', 'b.weight', 'b.bias'].
        Assert.That(new Mixed().NamedParameters().Select(p => p.Name), Is.EqualTo(new[] { "p", "q", "a.weight", "a.bias", "b.weight", "b.bias" }));
        Assert.That(new Mixed().NamedBuffers().Select(b => b.Name),
            Is.EqualTo(new[] { "buf", "scratch", "b.running_mean", "b.running_var", "b.num_batches_tracked" }));
    }

    [Test]
    public void NestedContainersGiveHierarchicalNames()
    {
        var encoder = new ModuleList<Module>([ConvLayer(3, 4), new Sequential(ConvLayer(4, 4), ConvLayer(4, 4))]);
        var keys = encoder.StateDict().Keys.ToArray();
        Assert.That(keys[0], Is.EqualTo("0.0.weight"));
        Assert.That(keys, Does.Contain("0.1.running_mean"));
        Assert.That(keys, Does.Contain("1.1.0.weight"));
        Assert.That(keys[^1], Is.EqualTo("1.1.1.num_batches_tracked"));
        Assert.That(keys.Length, Is.EqualTo(3 * 7));
        Assert.That(encoder.NamedModules().Select(m => m.Name).Take(5), Is.EqualTo(new[] { "", "0", "0.0", "0.1", "0.2" }));
    }

    [Test]
    public void ModuleDictKeepsInsertionOrder()
    {
        var heads = new ModuleDict<Conv2d>([new("semantic", new Conv2d(4, 13, 1)), new("depth", new Conv2d(4, 1, 1)), new("normal", new Conv2d(4, 3, 1))]);
        Assert.That(heads.Keys, Is.EqualTo(new[] { "semantic", "depth", "normal" }));
        Assert.That(heads.StateDict().Keys, Is.EqualTo(new[] { "semantic.weight", "semantic.bias", "depth.weight", "depth.bias", "normal.weight", "normal.bias" }));
        Assert.That(heads["depth"].OutChannels, Is.EqualTo(1));
        Assert.That(heads[2].Key, Is.EqualTo("normal"));
        Assert.That(() => heads["edge"], Throws.TypeOf<KeyNotFoundException>().With.Message.Contains("semantic, depth, normal"));
    }

    [Test]
    public void ParameterCountCountsTrainableScalarsOnce()
    {
        var layer = ConvLayer(64, 128);
        Assert.That(layer.ParameterCount(), Is.EqualTo(9L * 64 * 128 + 3 * 128)); // conv weight + bias + BN γ, β (spec §6)
        var shared = new Conv2d(2, 2, 1);
        var twice = new ModuleList<Module>([shared, shared]);
        Assert.That(twice.ParameterCount(), Is.EqualTo(2 * 2 + 2));
        Assert.That(twice.Parameters().Count(), Is.EqualTo(2));
        Assert.That(twice.StateDict().Keys, Is.EqualTo(new[] { "0.weight", "0.bias", "1.weight", "1.bias" }), "the state dict names a shared tensor under each owner");
    }

    [Test]
    public void BatchNormHasPyTorchDefaults()
    {
        var bn = new BatchNorm2d(5);
        Assert.That(bn.Weight!.ToDoubleArray(), Is.All.EqualTo(1.0));
        Assert.That(bn.Bias!.ToDoubleArray(), Is.All.EqualTo(0.0));
        Assert.That(bn.RunningMean!.ToDoubleArray(), Is.All.EqualTo(0.0));
        Assert.That(bn.RunningVar!.ToDoubleArray(), Is.All.EqualTo(1.0));
        Assert.That(bn.NumBatchesTracked!.DType, Is.EqualTo(DType.Int64));
        Assert.That(bn.NumBatchesTracked.Rank, Is.EqualTo(0));
        Assert.That(bn.Momentum, Is.EqualTo(0.1));
        Assert.That(bn.Eps, Is.EqualTo(1e-5));
        Assert.That(bn.Weight.RequiresGrad && !bn.RunningMean.RequiresGrad, Is.True);
    }

    [Test]
    public void ConvWithoutBiasHasNoBiasKey()
    {
        var conv = new Conv2d(3, 8, 3, stride: 2, padding: 1, dilation: 1, bias: false);
        Assert.That(conv.StateDict().Keys, Is.EqualTo(new[] { "weight" }));
        Assert.That(conv.Bias, Is.Null);
        Assert.That(conv.Weight.Shape, Is.EqualTo(new[] { 8, 3, 3, 3 }));
    }

    [Test]
    public void TrainAndEvalReachEveryDescendant()
    {
        var net = new Sequential(ConvLayer(1, 2), ConvLayer(2, 2));
        net.Eval();
        Assert.That(net.Modules().All(m => !m.Training), Is.True);
        net.Train();
        Assert.That(net.Modules().All(m => m.Training), Is.True);
    }

    [Test]
    public void ApplyVisitsChildrenBeforeTheParent()
    {
        var net = new Sequential(new Sequential(new ReLU()), new Sigmoid());
        var order = new List<string>();
        net.Apply(m => order.Add(m.TypeName));
        Assert.That(order, Is.EqualTo(new[] { "ReLU", "Sequential", "Sigmoid", "Sequential" }));
        Assert.That(net.Children().Count(), Is.EqualTo(2));
    }

    [Test]
    public void ZeroGradDropsOrZeroesGradients()
    {
        var conv = new Conv2d(1, 1, 1);
        conv.Weight.Grad = Tensor.Ones([1, 1, 1, 1]);
        var buffer = conv.Weight.Grad;
        conv.ZeroGrad();
        Assert.That(conv.Weight.Grad, Is.SameAs(buffer), "the default keeps the buffer for the next accumulation");
        Assert.That(conv.Weight.Grad!.ToDoubleArray(), Is.All.EqualTo(0.0));
        conv.ZeroGrad(setToNone: true);
        Assert.That(conv.Weight.Grad, Is.Null);
    }

    [Test]
    public void BadNamesAreRejected()
    {
        Assert.That(() => new BadName("a.b"), Throws.ArgumentException.With.Message.Contains("cannot contain '.'"));
        Assert.That(() => new BadName("x", duplicate: true), Throws.ArgumentException.With.Message.Contains("already registered"));
    }

    private sealed class BadName : Module
    {
        public BadName(string name, bool duplicate = false)
        {
            RegisterParameter(name, Tensor.Zeros([1]));
            if (duplicate) RegisterBuffer(name, Tensor.Zeros([1]));
        }
    }

    [Test]
    public void FrozenParametersAreNotCounted()
    {
        var m = new Frozen();
        Assert.That(m.ParameterCount(), Is.EqualTo(3));
        Assert.That(m.Parameters().Count(), Is.EqualTo(2));
    }

    private sealed class Frozen : Module
    {
        public Frozen()
        {
            RegisterParameter("trained", Tensor.Zeros([3]));
            RegisterParameter("fixed", Tensor.Zeros([4]), requiresGrad: false);
        }
    }

    [Test]
    public void ToDoubleConvertsFloatStateAndKeepsCounters()
    {
        var net = new Sequential(new Conv2d(2, 3, 3), new BatchNorm2d(3));
        var before = net.StateDict().ToDictionary(e => e.Key, e => e.Value.ToDoubleArray());
        net.To(DType.Float64);
        foreach (var (key, value) in net.StateDict())
        {
            Assert.That(value.DType, Is.EqualTo(key.EndsWith("num_batches_tracked") ? DType.Int64 : DType.Float64), key);
            Assert.That(value.ToDoubleArray(), Is.EqualTo(before[key]), key);
        }
        Assert.That(net.Parameters().All(p => p.RequiresGrad && p.IsLeaf), Is.True);
        Assert.That(((Conv2d)net[0]).Weight.DType, Is.EqualTo(DType.Float64));
    }
}
