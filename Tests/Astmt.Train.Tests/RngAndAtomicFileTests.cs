using Astmt.Engine;
using Astmt.Train.Experiments;
using Astmt.Train.IO;
using Astmt.Train.Tests.Support;

namespace Astmt.Train.Tests;

/// <summary>The deterministic generator and atomic file writes.</summary>
public sealed class RngAndAtomicFileTests
{
    [Test]
    public void Xoshiro256StarStar_MatchesTheReferenceSequence()
    {
        // Reference values from the published algorithm, computed independently in Python from the state {1, 2, 3, 4}.
        var rng = new DeterministicRng(0);
        rng.LoadState(Tensor.FromArray(new long[] { 1, 2, 3, 4 }, 4));
        Assert.That(new[] { rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64(), rng.NextUInt64() },
            Is.EqualTo(new ulong[] { 11520, 0, 1509978240, 1215971899390074240 }));
    }

    [Test]
    public void RngState_SavedAndRestored_ContinuesTheSameSequence()
    {
        var a = new DeterministicRng(42);
        for (int i = 0; i < 10; i++) a.NextUInt64();
        var saved = a.SaveState();
        var expected = Enumerable.Range(0, 5).Select(_ => a.NextUInt64()).ToArray();
        var b = new DeterministicRng(7);
        b.LoadState(saved);
        Assert.That(Enumerable.Range(0, 5).Select(_ => b.NextUInt64()).ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void Shuffle_IsAPermutation_AndDependsOnTheSeed()
    {
        var x = Enumerable.Range(0, 50).ToArray();
        var y = (int[])x.Clone();
        new DeterministicRng(1).Shuffle(x);
        new DeterministicRng(2).Shuffle(y);
        Assert.That(x.Order(), Is.EqualTo(Enumerable.Range(0, 50)));
        Assert.That(x, Is.Not.EqualTo(y));
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
