using Astmt.Models.Data;
using Astmt.Models.Data.Datasets;
using Astmt.Models.Synthetic;
using Astmt.Models.Tests.Data;
using NUnit.Framework;

namespace Astmt.Models.Tests.Synthetic;

/// <summary>Synthetic scenes: deterministic, and every label consistent with the geometry the others come from.</summary>
public class SyntheticSceneTests
{
    private const int H = 48, W = 64;

    [Test]
    public void SameSeedAndIndex_GiveIdenticalSamples_OthersDiffer()
    {
        var a = new SyntheticSceneDataset(10, H, W, seed: 9).Render(4);
        var b = new SyntheticSceneDataset(10, H, W, seed: 9).Render(4);
        var c = new SyntheticSceneDataset(10, H, W, seed: 9).Render(5);
        var d = new SyntheticSceneDataset(10, H, W, seed: 10).Render(4);
        Assert.That(a.Image, Is.EqualTo(b.Image));
        Assert.That(a.Semantic, Is.EqualTo(b.Semantic));
        Assert.That(a.Depth, Is.EqualTo(b.Depth));
        Assert.That(a.Normal, Is.EqualTo(b.Normal));
        Assert.That(a.Image, Is.Not.EqualTo(c.Image));
        Assert.That(a.Image, Is.Not.EqualTo(d.Image));
    }

    [Test]
    public void Labels_AreInRange_AndCoverTheClasses()
    {
        var ds = new SyntheticSceneDataset(30, H, W, seed: 1);
        var classes = new HashSet<long>();
        for (int i = 0; i < 30; i++)
        {
            var r = ds.Render(i);
            for (int p = 0; p < H * W; p++)
            {
                long cls = r.Semantic[p];
                Assert.That(cls, Is.InRange(0, SceneClasses.Count - 1));
                classes.Add(cls);
                Assert.That(r.Parts[p], Is.InRange(0, SceneClasses.PartCount - 1));
                bool foreground = SceneClasses.IsForeground((int)cls);
                Assert.That(r.Saliency[p], Is.EqualTo(foreground ? 1f : 0f));
                Assert.That(r.Parts[p] != 0, Is.EqualTo(foreground), "parts exactly on the salient objects");
                for (int c = 0; c < 3; c++) Assert.That(r.Image[c * H * W + p], Is.InRange(0f, 1f));
                bool window = cls == SceneClasses.Window;
                Assert.That(r.Depth[p] == 0, Is.EqualTo(window), "depth invalid exactly on windows");
                if (window) continue;
                double nx = r.Normal[p], ny = r.Normal[H * W + p], nz = r.Normal[2 * H * W + p];
                Assert.That(nx * nx + ny * ny + nz * nz, Is.EqualTo(1.0).Within(1e-5), "unit normals");
                // Visible surfaces face the camera: the normal opposes the viewing ray through the pixel.
                int px = p % W, py = p / W;
                double rayDot = nx * (px + 0.5 - W / 2.0) / r.Focal - ny * (py + 0.5 - H / 2.0) / r.Focal - nz;
                Assert.That(rayDot, Is.LessThan(1e-9));
            }
        }
        Assert.That(classes.Count, Is.EqualTo(SceneClasses.Count), $"classes seen: {string.Join(",", classes.Order())}");
    }

    [Test]
    public void Normals_AgreeWithDepthGradients()
    {
        // Back-project z-depth to camera points and take the normal of neighbouring points: it must match the rendered
        // normal inside surfaces (3×3 neighbourhood on one primitive-free region of one instance).
        var ds = new SyntheticSceneDataset(6, 96, 128, seed: 2);
        var angles = new List<double>();
        for (int i = 0; i < 6; i++)
        {
            var r = ds.Render(i);
            int h = r.Height, w = r.Width, n = h * w;
            double X(int x, int y) => (x + 0.5 - w / 2.0) * r.Depth[y * w + x] / r.Focal;
            double Y(int x, int y) => -(y + 0.5 - h / 2.0) * r.Depth[y * w + x] / r.Focal;
            double Z(int x, int y) => -r.Depth[y * w + x];
            for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++)
            {
                int p = y * w + x, id = r.Instance[p];
                bool interior = true;
                for (int dy = -1; dy <= 1 && interior; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                        if (r.Instance[p + dy * w + dx] != id || r.Depth[p + dy * w + dx] == 0 || r.Edges[p + dy * w + dx] != 0) { interior = false; break; }
                if (!interior) continue;
                double ax = X(x + 1, y) - X(x - 1, y), ay = Y(x + 1, y) - Y(x - 1, y), az = Z(x + 1, y) - Z(x - 1, y);
                double bx = X(x, y - 1) - X(x, y + 1), by = Y(x, y - 1) - Y(x, y + 1), bz = Z(x, y - 1) - Z(x, y + 1);
                double cx = ay * bz - az * by, cy = az * bx - ax * bz, cz = ax * by - ay * bx;
                double len = Math.Sqrt(cx * cx + cy * cy + cz * cz);
                double dot = (cx * r.Normal[p] + cy * r.Normal[n + p] + cz * r.Normal[2 * n + p]) / len;
                angles.Add(Math.Acos(Math.Clamp(dot, -1, 1)) * 180 / Math.PI);
            }
        }
        angles.Sort();
        Assert.That(angles.Count, Is.GreaterThan(20000));
        Assert.That(angles[angles.Count / 2], Is.LessThan(0.5), "median angle");
        Assert.That(angles[(int)(angles.Count * 0.95)], Is.LessThan(5), "95th percentile");
    }

    [Test]
    public void FloorPixels_BackProjectToHeightZero()
    {
        var scene = SceneGenerator.Generate(4, 3);
        var r = new SceneRendering(60, 80);
        SceneRenderer.Render(scene, r);
        double cp = Math.Cos(scene.Pitch), sp = Math.Sin(scene.Pitch);
        // Camera up vector's world y is cos(pitch), forward's is sin(pitch); right has no y component.
        int floor = 0;
        for (int y = 0; y < 60; y++)
        for (int x = 0; x < 80; x++)
        {
            int p = y * 80 + x;
            if (r.Semantic[p] != SceneClasses.Floor) continue;
            double z = r.Depth[p];
            double up = -(y + 0.5 - 30) * z / r.Focal;
            double worldY = scene.Camera.Y + up * cp + z * sp;
            Assert.That(worldY, Is.EqualTo(0).Within(1e-4), $"floor pixel ({x},{y})");
            floor++;
        }
        Assert.That(floor, Is.GreaterThan(100));
    }

    [Test]
    public void Edges_CoverEverySemanticBoundary_AndLieOnInstanceOrDepthBoundaries()
    {
        var ds = new SyntheticSceneDataset(5, H, W, seed: 3);
        int selfOcclusion = 0;
        static bool Jump(float a, float b) => a > 0 && b > 0 && Math.Abs(a - b) > 0.1 * Math.Min(a, b);
        for (int i = 0; i < 5; i++)
        {
            var r = ds.Render(i);
            int edges = 0;
            for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                int p = y * W + x;
                bool semanticBoundary = (x + 1 < W && r.Semantic[p + 1] != r.Semantic[p]) || (y + 1 < H && r.Semantic[p + W] != r.Semantic[p]);
                bool instanceBoundary = (x + 1 < W && r.Instance[p + 1] != r.Instance[p]) || (y + 1 < H && r.Instance[p + W] != r.Instance[p]);
                bool depthBoundary = (x + 1 < W && Jump(r.Depth[p], r.Depth[p + 1])) || (y + 1 < H && Jump(r.Depth[p], r.Depth[p + W]));
                if (semanticBoundary) Assert.That(r.Edges[p], Is.EqualTo(1f), $"scene {i} ({x},{y})");
                Assert.That(r.Edges[p] == 1f, Is.EqualTo(instanceBoundary || depthBoundary));
                if (depthBoundary && !instanceBoundary) selfOcclusion++;
                if (r.Edges[p] == 1f) edges++;
            }
            Assert.That(edges, Is.InRange(H, H * W / 3), "edges are thin lines");
        }
        TestContext.Out.WriteLine($"{selfOcclusion} depth-only edge pixels");
    }

    [Test]
    public void AstmtTaskSet_ExposesSixTasks_WithImagesIn0To255()
    {
        var ds = new SyntheticSceneDataset(2, H, W, seed: 5, SyntheticTaskSet.Astmt);
        Assert.That(ds.Tasks.Select(t => t.Name), Is.EqualTo(new[] { "edge", "semseg", "human_parts", "normals", "sal", "depth" }));
        var s = new MultiTaskSample(ds.Tasks, H, W);
        ds.Load(1, s);
        var r = ds.Render(1);
        Assert.That(s.Image[17], Is.EqualTo(r.Image[17] * 255f));
        Assert.That(s.Labels[2], Is.EqualTo(r.Parts));
        Assert.That(s.Values[0], Is.EqualTo(r.Edges));
        Assert.That(s.Values[4], Is.EqualTo(r.Saliency));
        Assert.That(s.Values[5], Is.EqualTo(r.Depth));
    }

    [Test]
    public void NyuV2LayoutWriter_RoundTripsThroughTheReader()
    {
        using var tmp = new TempDirectory();
        SyntheticNpyWriter.WriteNyuV2Layout(tmp.FullName, trainCount: 3, valCount: 2, height: 12, width: 16, seed: 8);
        var train = NyuV2Dataset.Open(tmp.FullName, "train");
        var val = NyuV2Dataset.Open(tmp.FullName, "val");
        Assert.That((train.Count, val.Count, train.Height, train.Width), Is.EqualTo((3, 2, 12, 16)));
        var fromDisk = new MultiTaskSample(train.Tasks, 12, 16);
        var live = new MultiTaskSample(train.Tasks, 12, 16);
        var trainLive = new SyntheticSceneDataset(3, 12, 16, seed: 8);
        var valLive = new SyntheticSceneDataset(2, 12, 16, seed: 9);
        foreach (var (disk, onTheFly, n) in new[] { ((IMultiTaskDataset)train, trainLive, 3), (val, valLive, 2) })
        {
            for (int i = 0; i < n; i++)
            {
                disk.Load(i, fromDisk);
                onTheFly.Load(i, live);
                Assert.That(fromDisk.Image, Is.EqualTo(live.Image));
                Assert.That(fromDisk.Labels[0], Is.EqualTo(live.Labels[0]));
                Assert.That(fromDisk.Values[1], Is.EqualTo(live.Values[1]));
                Assert.That(fromDisk.Values[2], Is.EqualTo(live.Values[2]));
            }
        }
    }
}
