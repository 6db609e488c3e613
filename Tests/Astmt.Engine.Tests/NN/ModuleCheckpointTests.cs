using Astmt.Engine.IO;
using Astmt.Engine.NN;
using NUnit.Framework;

namespace Astmt.Engine.Tests.NN;

public class ModuleCheckpointTests
{
    private string _folder = null!;

    [SetUp]
    public void CreateFolder() => Directory.CreateDirectory(_folder = Path.Combine(Path.GetTempPath(), "astmt-nn-" + Guid.NewGuid().ToString("N")));

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    private static Sequential Net(ulong seed) => new(new Conv2d(2, 3, 3, generator: new Generator(seed)), new BatchNorm2d(3), new ReLU());

    [Test]
    public void SafeTensorsRoundTripKeepsKeysOrderDtypesAndValues()
    {
        var source = Net(1);
        Init.Normal(((BatchNorm2d)source[1]).RunningMean!, 0, 1, new Generator(5));
        ((BatchNorm2d)source[1]).NumBatchesTracked!.FillInPlace(12);
        var path = Path.Combine(_folder, "net.safetensors");
        source.SaveSafeTensors(path, new Dictionary<string, string> { ["model"] = "test" }, prefix: "state.");

        var file = SafeTensors.Load(path);
        Assert.That(file.Keys, Is.EqualTo(source.StateDict().Keys.Select(k => "state." + k)));
        Assert.That(file.Metadata["model"], Is.EqualTo("test"));
        Assert.That(file.Get("state.1.num_batches_tracked").DType, Is.EqualTo(DType.Int64));

        var target = Net(2);
        target.LoadSafeTensors(path, prefix: "state.");
        var expected = source.StateDict();
        foreach (var (key, value) in target.StateDict())
            Assert.That(value.ToDoubleArray(), Is.EqualTo(expected[key].ToDoubleArray()), key);
    }

    [Test]
    public void AMismatchedFileIsNamedInTheError()
    {
        var path = Path.Combine(_folder, "other.safetensors");
        new Sequential(new Conv2d(2, 4, 3)).SaveSafeTensors(path);
        Assert.That(() => Net(1).LoadSafeTensors(path), Throws.TypeOf<InvalidDataException>()
            .With.Message.Contains("other.safetensors").And.Message.Contains("size mismatch for 0.weight").And.Message.Contains("\"1.running_mean\""));
        Assert.That(() => Net(1).LoadSafeTensors(path, prefix: "state."), Throws.TypeOf<InvalidDataException>().With.Message.Contains("no tensor whose key starts with 'state.'"));
    }
}
