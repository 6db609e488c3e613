using Astmt.Engine;
using Astmt.Models.Data;
using Astmt.Models.Data.Augmentation;
using Astmt.Models.Synthetic;
using NUnit.Framework;

namespace Astmt.Models.Tests.Data;

/// <summary>Batches match the dataset, orders are permutations fixed by (seed, epoch), and a resumed loader reproduces the run.</summary>
public class BatchLoaderTests
{
    private static SyntheticSceneDataset Scenes(int count = 7) => new(count, 12, 16, seed: 3);

    [Test]
    public void Batches_HoldTheDatasetSamples_InNchwAndInt64()
    {
        var ds = Scenes();
        using var loader = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 3, Seed = 11, PrefetchBatches = 0 });
        Assert.That(loader.StepsPerEpoch, Is.EqualTo(3));
        var sample = new MultiTaskSample(ds.Tasks, 12, 16);
        var seen = new List<int>();
        foreach (var batch in loader.RemainingInEpoch())
        {
            using var _ = batch;
            Assert.That(batch.Images.Shape, Is.EqualTo(new[] { batch.Size, 3, 12, 16 }));
            Assert.That(batch.Target("semantic").DType, Is.EqualTo(DType.Int64));
            Assert.That(batch.Target("semantic").Shape, Is.EqualTo(new[] { batch.Size, 12, 16 }));
            Assert.That(batch.Target("normal").Shape, Is.EqualTo(new[] { batch.Size, 3, 12, 16 }));
            var images = batch.Images.ToArray<float>();
            var labels = batch.Target("semantic").ToArray<long>();
            var normals = batch.Target("normal").ToArray<float>();
            for (int b = 0; b < batch.Size; b++)
            {
                ds.Load(batch.Indices[b], sample);
                Assert.That(images.AsSpan(b * 576, 576).ToArray(), Is.EqualTo(sample.Image));
                Assert.That(labels.AsSpan(b * 192, 192).ToArray(), Is.EqualTo(sample.Labels[0]));
                Assert.That(normals.AsSpan(b * 576, 576).ToArray(), Is.EqualTo(sample.Values[2]));
                seen.Add(batch.Indices[b]);
            }
        }
        Assert.That(seen.Order(), Is.EqualTo(Enumerable.Range(0, 7)), "one epoch visits every sample once");
        Assert.That(seen, Is.Not.EqualTo(Enumerable.Range(0, 7)), "shuffled");
        Assert.That(loader.Position, Is.EqualTo(new LoaderPosition(1, 0)));
    }

    [Test]
    public void Orders_DependOnlyOnSeedAndEpoch()
    {
        var ds = Scenes(50);
        using var a = new BatchLoader(ds, new BatchLoaderOptions { Seed = 5 });
        using var b = new BatchLoader(ds, new BatchLoaderOptions { Seed = 5 });
        using var c = new BatchLoader(ds, new BatchLoaderOptions { Seed = 6 });
        Assert.That(a.EpochOrder(2), Is.EqualTo(b.EpochOrder(2)));
        Assert.That(a.EpochOrder(2), Is.Not.EqualTo(a.EpochOrder(3)));
        Assert.That(a.EpochOrder(2), Is.Not.EqualTo(c.EpochOrder(2)));
        Assert.That(a.EpochOrder(4).Order(), Is.EqualTo(Enumerable.Range(0, 50)));
        using var plain = new BatchLoader(ds, new BatchLoaderOptions { Shuffle = false });
        Assert.That(plain.EpochOrder(9), Is.EqualTo(Enumerable.Range(0, 50)));
    }

    [Test]
    public void DropLast_And_PartialLastBatch()
    {
        var ds = Scenes(7);
        using var keep = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 2, PrefetchBatches = 0 });
        using var drop = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 2, DropLast = true, PrefetchBatches = 0 });
        Assert.That(keep.StepsPerEpoch, Is.EqualTo(4));
        Assert.That(drop.StepsPerEpoch, Is.EqualTo(3));
        Assert.That(keep.BatchIndices(new LoaderPosition(0, 3)).Length, Is.EqualTo(1), "795 NYUv2 images leave a batch of 1, as the reference");
    }

    [TestCase(0)]
    [TestCase(2)]
    public void ResumedLoader_ReproducesTheRun_WithAugmentation(int prefetch)
    {
        var ds = Scenes(5);
        var options = new BatchLoaderOptions { BatchSize = 2, Seed = 42, Augmentation = new MtanScaleCropFlip(), PrefetchBatches = prefetch };
        var run = new List<(LoaderPosition, int[], float[], float[])>();
        using (var loader = new BatchLoader(ds, options))
        {
            for (int k = 0; k < 7; k++)
            {
                using var b = loader.Next();
                run.Add((b.Position, b.Indices, b.Images.ToArray<float>(), b.Target("depth").ToArray<float>()));
            }
        }
        Assert.That(run[3].Item1, Is.EqualTo(new LoaderPosition(1, 0)), "3 steps per epoch");

        // A restart from a checkpoint taken after step 4, with the other prefetch setting.
        using var resumed = new BatchLoader(ds, options with { PrefetchBatches = prefetch == 0 ? 3 : 0 });
        resumed.Seek(run[4].Item1);
        for (int k = 4; k < 7; k++)
        {
            using var b = resumed.Next();
            Assert.That(b.Position, Is.EqualTo(run[k].Item1));
            Assert.That(b.Indices, Is.EqualTo(run[k].Item2));
            Assert.That(b.Images.ToArray<float>(), Is.EqualTo(run[k].Item3), $"images at {b.Position}");
            Assert.That(b.Target("depth").ToArray<float>(), Is.EqualTo(run[k].Item4), $"depth at {b.Position}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => resumed.Seek(new LoaderPosition(0, 3)));
    }

    [Test]
    public void SeekWhilePrefetching_DropsStaleBatches()
    {
        var ds = Scenes(9);
        using var loader = new BatchLoader(ds, new BatchLoaderOptions { BatchSize = 2, Seed = 1, PrefetchBatches = 2 });
        loader.Next().Dispose();
        loader.Next().Dispose();
        var target = new LoaderPosition(3, 1);
        loader.Seek(target);
        using var b = loader.Next();
        Assert.That(b.Position, Is.EqualTo(target));
        Assert.That(b.Indices, Is.EqualTo(loader.BatchIndices(target)));
    }
}

/// <summary>The ASTMT pipeline on synthetic scenes: fixed resize, flip/scale/rotate, batches reproducible from the seed.</summary>
public class AstmtPipelineTests
{
    [Test]
    public void ResizedAugmentedSyntheticBatches_AreReproducible_AndKeepLabelsValid()
    {
        var ds = new ResizedDataset(new SyntheticSceneDataset(4, 24, 32, seed: 2, SyntheticTaskSet.Astmt), 20, 20);
        var options = new BatchLoaderOptions { BatchSize = 2, Seed = 9, DropLast = true, Augmentation = new AstmtFlipScaleRotate() };
        using var a = new BatchLoader(ds, options);
        using var b = new BatchLoader(ds, options with { PrefetchBatches = 0 });
        for (int k = 0; k < 4; k++)
        {
            using var x = a.Next();
            using var y = b.Next();
            Assert.That(x.Images.Shape, Is.EqualTo(new[] { 2, 3, 20, 20 }));
            Assert.That(x.Images.ToArray<float>(), Is.EqualTo(y.Images.ToArray<float>()));
            var parts = x.Target("human_parts").ToArray<long>();
            Assert.That(parts, Is.EqualTo(y.Target("human_parts").ToArray<long>()));
            Assert.That(parts.All(v => v is >= 0 and < SceneClasses.PartCount), "nearest resampling keeps labels in range (border 0)");
            var n = x.Target("normals").ToArray<float>();
            for (int i = 0; i < 400; i++)
            {
                double len = Math.Sqrt(n[i] * n[i] + n[400 + i] * n[400 + i] + n[800 + i] * n[800 + i]);
                Assert.That(len < 1e-6 || Math.Abs(len - 1) < 1e-4, $"normal length {len}");
            }
        }
    }
}
