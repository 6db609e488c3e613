using Astmt.Models.Data;
using Astmt.Models.Data.Datasets;
using Astmt.Models.Data.Npy;
using NUnit.Framework;

namespace Astmt.Models.Tests.Data;

/// <summary>The NYUv2 layout on a tiny tree numpy wrote (make_npy_fixtures.py: float64 image/label, float32 depth/normal).</summary>
public class NpyFolderDatasetTests
{
    private static string Root => FixtureFiles.Path("nyuv2_tiny");

    [Test]
    public void NyuV2_Layout_LoadsChannelsFirstWithTheReferenceConventions()
    {
        var ds = NyuV2Dataset.Open(Root, "train");
        Assert.That(ds.Count, Is.EqualTo(3));
        Assert.That((ds.Height, ds.Width), Is.EqualTo((6, 8)));
        Assert.That(ds.Tasks.Select(t => t.Name), Is.EqualTo(new[] { "semantic", "depth", "normal" }));
        var sample = new MultiTaskSample(ds.Tasks, 6, 8);
        for (int i = 0; i < 3; i++)
        {
            ds.Load(i, sample);
            Assert.That(sample.Index, Is.EqualTo(i));
            for (int y = 0; y < 6; y++)
            for (int x = 0; x < 8; x++)
            {
                int p = y * 8 + x;
                for (int c = 0; c < 3; c++)
                    Assert.That(sample.Image[c * 48 + p], Is.EqualTo((float)((i * 1000 + y * 100 + x * 10 + c) / 10000.0)), $"image {i} c{c} y{y} x{x}");
                long label = y == 0 && x == 0 ? -1 : (y * 8 + x + i) % 13;
                Assert.That(sample.Labels[0][p], Is.EqualTo(label));
                float depth = y == 1 && x == 2 ? 0f : 1f + y * 0.25f + x * 0.125f + i;
                Assert.That(sample.Values[1][p], Is.EqualTo(depth));
                float nz = y == 2 && x == 3 ? 0f : 1f;
                Assert.That(sample.Values[2][p], Is.Zero);
                Assert.That(sample.Values[2][48 + p], Is.Zero);
                Assert.That(sample.Values[2][96 + p], Is.EqualTo(nz));
            }
        }
    }

    [Test]
    public void MissingSplit_FailsNamingTheFolder()
    {
        var ex = Assert.Throws<DirectoryNotFoundException>(() => NyuV2Dataset.Open(Root, "val"))!;
        Assert.That(ex.Message, Does.Contain(Path.Combine(Root, "val", "image")));
    }

    [Test]
    public void WrongTargetShape_FailsNamingTheFile()
    {
        using var tmp = new TempDirectory();
        CopyTree(Path.Combine(Root, "train"), Path.Combine(tmp.FullName, "train"));
        string bad = Path.Combine(tmp.FullName, "train", "depth", "1.npy");
        NpyWriter.Write(bad, new float[6 * 7], 6, 7);
        var ds = NyuV2Dataset.Open(tmp.FullName, "train");
        var sample = new MultiTaskSample(ds.Tasks, 6, 8);
        ds.Load(0, sample);
        var ex = Assert.Throws<NpyFormatException>(() => ds.Load(1, sample))!;
        Assert.That(ex.Message, Does.Contain(bad));
        Assert.That(ex.Message, Does.Contain("expected shape (6, 8)"));
    }

    [Test]
    public void Cityscapes_And_AstmtLayouts_ReadTheirFolders()
    {
        using var tmp = new TempDirectory();
        string split = Path.Combine(tmp.FullName, "val");
        var image = Enumerable.Range(0, 4 * 5 * 3).Select(i => i / 60f).ToArray();
        NpyWriter.Write(Path.Combine(split, "image", "0.npy"), image, 4, 5, 3);
        NpyWriter.Write(Path.Combine(split, "label_7", "0.npy"), Enumerable.Range(0, 20).Select(i => (long)(i % 7) - 1).ToArray(), 4, 5);
        NpyWriter.Write(Path.Combine(split, "depth", "0.npy"), Enumerable.Range(0, 20).Select(i => i * 0.01f).ToArray(), 4, 5, 1);
        var city = CityscapesDataset.Open(tmp.FullName, "val");
        var s = new MultiTaskSample(city.Tasks, 4, 5);
        city.Load(0, s);
        Assert.That(s.Labels[0], Is.EqualTo(Enumerable.Range(0, 20).Select(i => (long)(i % 7) - 1).ToArray()));
        Assert.That(s.Values[1][19], Is.EqualTo(0.19f));
        Assert.That(s.Image[2 * 20 + 7], Is.EqualTo(image[7 * 3 + 2]), "HWC to CHW");

        Assert.Throws<ArgumentOutOfRangeException>(() => CityscapesDataset.Open(tmp.FullName, "val", 5));
        var ex = Assert.Throws<DirectoryNotFoundException>(() => AstmtNpyDataset.Open(tmp.FullName, "val", AstmtBenchmark.Nyud))!;
        Assert.That(ex.Message, Does.Contain("edge"));
        Assert.That(AstmtNpyDataset.TasksFor(AstmtBenchmark.PascalContext).Select(t => t.Name),
            Is.EqualTo(new[] { "edge", "semseg", "human_parts", "normals", "sal" }));
        Assert.That(AstmtNpyDataset.TasksFor(AstmtBenchmark.Nyud)[1].ClassCount, Is.EqualTo(41));
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(dir.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, file.Replace(from, to));
    }
}
