using Astmt.Engine.NN;
using NUnit.Framework;

namespace Astmt.Engine.Tests.NN;

public class StateDictTests
{
    private static Sequential Net(int seed) => new(
        new Conv2d(3, 4, 3, padding: 1, generator: new Generator((ulong)seed)), new BatchNorm2d(4), new ReLU(),
        new Conv2d(4, 2, 1, generator: new Generator((ulong)seed + 1)));

    [Test]
    public void RoundTripCopiesEveryValueInPlace()
    {
        var source = Net(1);
        var bn = (BatchNorm2d)source[1];
        Init.Normal(bn.RunningMean!, 0, 1, new Generator(3));
        Init.Uniform(bn.RunningVar!, 0.5, 2, new Generator(4));
        bn.NumBatchesTracked!.FillInPlace(17);
        var target = Net(2);
        var weightBefore = ((Conv2d)target[0]).Weight;
        var result = target.LoadStateDict(source.StateDict());
        Assert.That(result.MissingKeys, Is.Empty);
        Assert.That(result.UnexpectedKeys, Is.Empty);
        var expected = source.StateDict();
        foreach (var (key, value) in target.StateDict())
            Assert.That(value.ToDoubleArray(), Is.EqualTo(expected[key].ToDoubleArray()), key);
        Assert.That(((Conv2d)target[0]).Weight, Is.SameAs(weightBefore), "loading must copy into the existing tensors");
        Assert.That(((BatchNorm2d)target[1]).NumBatchesTracked!.Item(), Is.EqualTo(17));
    }

    [Test]
    public void StrictLoadNamesEveryMissingAndUnexpectedKey()
    {
        var dict = new Dictionary<string, Tensor>(Net(1).StateDict());
        dict.Remove("1.running_var");
        dict.Remove("3.bias");
        dict["extra.weight"] = Tensor.Zeros([1]);
        var ex = Assert.Throws<StateDictMismatchException>(() => Net(2).LoadStateDict(dict))!;
        Assert.That(ex.MissingKeys, Is.EquivalentTo(new[] { "1.running_var", "3.bias" }));
        Assert.That(ex.UnexpectedKeys, Is.EqualTo(new[] { "extra.weight" }));
        Assert.That(ex.Message, Does.Contain("Sequential").And.Contain("\"1.running_var\"").And.Contain("\"3.bias\"").And.Contain("\"extra.weight\""));
    }

    [Test]
    public void NonStrictLoadReportsAndKeepsMissingValues()
    {
        var source = Net(1);
        var dict = new Dictionary<string, Tensor>(source.StateDict());
        dict.Remove("0.weight");
        dict["head.bias"] = Tensor.Zeros([2]);
        var target = Net(2);
        var kept = ((Conv2d)target[0]).Weight.ToDoubleArray();
        var result = target.LoadStateDict(dict, strict: false);
        Assert.That(result.MissingKeys, Is.EqualTo(new[] { "0.weight" }));
        Assert.That(result.UnexpectedKeys, Is.EqualTo(new[] { "head.bias" }));
        Assert.That(((Conv2d)target[0]).Weight.ToDoubleArray(), Is.EqualTo(kept));
        Assert.That(((Conv2d)target[0]).Bias!.ToDoubleArray(), Is.EqualTo(((Conv2d)source[0]).Bias!.ToDoubleArray()));
    }

    [Test]
    public void ShapeMismatchesThrowEvenWhenNotStrictAndNameBothShapes()
    {
        var dict = new Dictionary<string, Tensor>(Net(1).StateDict())
        {
            ["0.weight"] = Tensor.Zeros([4, 3, 5, 5]),
            ["1.running_mean"] = Tensor.Zeros([7]),
        };
        var ex = Assert.Throws<StateDictMismatchException>(() => Net(2).LoadStateDict(dict, strict: false))!;
        Assert.That(ex.Mismatches, Has.Count.EqualTo(2));
        Assert.That(ex.Message, Does.Contain("size mismatch for 0.weight").And.Contain("[4x3x5x5]").And.Contain("[4x3x3x3]"));
        Assert.That(ex.Message, Does.Contain("size mismatch for 1.running_mean"));
    }

    [Test]
    public void Float64ValuesAreConvertedAndIntegersIntoFloatsRejected()
    {
        var target = new Conv2d(1, 2, 1);
        var dict = new Dictionary<string, Tensor>
        {
            ["weight"] = Tensor.FromArray(new[] { 0.5, -1.25 }, 2, 1, 1, 1),
            ["bias"] = Tensor.FromArray(new[] { 3.0, 4.0 }, 2),
        };
        target.LoadStateDict(dict);
        Assert.That(target.Weight.DType, Is.EqualTo(DType.Float32));
        Assert.That(target.Weight.ToDoubleArray(), Is.EqualTo(new[] { 0.5, -1.25 }));
        dict["bias"] = Tensor.FromArray(new long[] { 3, 4 }, 2);
        Assert.That(() => target.LoadStateDict(dict), Throws.TypeOf<StateDictMismatchException>().With.Message.Contains("dtype mismatch for bias"));
    }

    [Test]
    public void NonPersistentBuffersStayOutOfTheStateDict()
    {
        var m = new WithScratch();
        Assert.That(m.StateDict().Keys, Is.EqualTo(new[] { "kept" }));
        Assert.That(m.NamedBuffers().Select(b => b.Name), Is.EqualTo(new[] { "kept", "scratch" }));
    }

    private sealed class WithScratch : Module
    {
        public WithScratch()
        {
            RegisterBuffer("kept", Tensor.Zeros([1]));
            RegisterBuffer("scratch", Tensor.Zeros([1]), persistent: false);
        }
    }

    [Test]
    public void OneElementVectorsFillScalarEntriesAsInPyTorch()
    {
        var bn = new BatchNorm2d(2);
        var dict = new Dictionary<string, Tensor>(bn.StateDict()) { ["num_batches_tracked"] = Tensor.FromArray(new long[] { 5 }, 1) };
        bn.LoadStateDict(dict);
        Assert.That(bn.NumBatchesTracked!.Rank, Is.EqualTo(0));
        Assert.That(bn.NumBatchesTracked.Item(), Is.EqualTo(5));
        dict["num_batches_tracked"] = Tensor.FromArray(new long[] { 5, 6 }, 2);
        Assert.That(() => bn.LoadStateDict(dict), Throws.TypeOf<StateDictMismatchException>().With.Message.Contains("size mismatch for num_batches_tracked"));
    }
}
