using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Train.Training;
using Astmt.Train.Experiments;
using Astmt.Train.IO;
using Astmt.Train.Tests.Support;

namespace Astmt.Train.Tests;

/// <summary>The deterministic generator and atomic file writes.</summary>
public sealed class RngAndAtomicFileTests
{
    [Test]
    public void GeneratorState_SavedAndRestored_ContinuesTheSameSequence()
    {
        var a = new Generator(42);
        for (int i = 0; i < 10; i++) a.NextUInt64();
        a.NextNormal(); // leaves a cached normal variate, which is part of the state
        var saved = GeneratorState.Save(a);
        var expected = Enumerable.Range(0, 5).Select(_ => a.NextNormal()).ToArray();
        var b = new Generator(7);
        GeneratorState.Restore(b, saved, "rng.test");
        Assert.That(Enumerable.Range(0, 5).Select(_ => b.NextNormal()).ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void GeneratorState_OfTheWrongShape_IsACheckpointError()
    {
        var e = Assert.Throws<ConfigurationException>(() => GeneratorState.Restore(new Generator(), Tensor.FromArray(new long[] { 1, 2 }, 2), "rng.augment"));
        Assert.That(e!.Message, Does.Contain("'rng.augment'").And.Contain("expected a generator state"));
        var zeros = Tensor.Zeros([GeneratorState.Save(new Generator()).Numel], DType.Int64);
        Assert.Throws<ConfigurationException>(() => GeneratorState.Restore(new Generator(), zeros, "rng.augment"));
    }

    [Test]
    public void EpochOrder_IsAPermutation_ThatDependsOnSeedAndEpochOnly()
    {
        var order = Trainer.EpochOrder(seed: 1, epoch: 0, count: 50);
        Assert.That(order.Order(), Is.EqualTo(Enumerable.Range(0, 50)));
        Assert.That(Trainer.EpochOrder(1, 0, 50), Is.EqualTo(order), "replayable");
        Assert.That(Trainer.EpochOrder(1, 1, 50), Is.Not.EqualTo(order), "another epoch, another order");
        Assert.That(Trainer.EpochOrder(2, 0, 50), Is.Not.EqualTo(order), "another seed, another order");
    }

    [Test]
    public void AtomicWrite_ReplacesTheFile_AndLeavesNoTemporaryFiles()
    {
        using var dir = new TempDir();
        string path = dir["a.txt"];
        AtomicFile.WriteAllText(path, "old");
        AtomicFile.WriteAllText(path, "new");
        Assert.That(File.ReadAllText(path), Is.EqualTo("new"));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1));
    }

    [Test]
    public void AtomicWrite_ThatFails_KeepsTheOldFileWhole()
    {
        using var dir = new TempDir();
        string path = dir["a.bin"];
        AtomicFile.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([9, 9, 9, 9, 9]);
            throw new InvalidOperationException("killed mid-write");
        }));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(Directory.GetFiles(dir.Path), Has.Length.EqualTo(1), "the temporary file was removed");
    }
}
