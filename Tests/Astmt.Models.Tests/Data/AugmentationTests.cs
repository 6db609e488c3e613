using Astmt.Models.Data;
using Astmt.Models.Data.Augmentation;
using NUnit.Framework;

namespace Astmt.Models.Tests.Data;

/// <summary>Augmentations against properties that hold independently of the implementation (ramps, cv2's rotation matrix, 2×2 means).</summary>
public class AugmentationTests
{
    private static readonly TaskSpec[] Tasks =
    [
        TaskSpec.Labels("semantic", TaskKind.Semantic, 13, -1),
        TaskSpec.Dense("depth", TaskKind.Depth),
        TaskSpec.Dense("normal", TaskKind.Normal),
    ];

    private static MultiTaskSample Ramp(int h, int w)
    {
        var s = new MultiTaskSample(Tasks, h, w);
        int plane = h * w;
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            int i = y * w + x;
            s.Image[i] = 0.1f + 0.01f * x;          // R: ramp in x
            s.Image[plane + i] = 0.2f + 0.02f * y;  // G: ramp in y
            s.Image[2 * plane + i] = 0.5f;
            s.Labels[0][i] = x;
            s.Values[1][i] = 3f;
            s.Values[2][i] = 0.6f; s.Values[2][plane + i] = 0f; s.Values[2][2 * plane + i] = 0.8f;
        }
        return s;
    }

    [Test]
    public void Flip_MirrorsEveryArray_AndNegatesNormalX()
    {
        var s = Ramp(4, 6);
        MtanScaleCropFlip.Flip(s);
        for (int y = 0; y < 4; y++)
        for (int x = 0; x < 6; x++)
        {
            int i = y * 6 + x;
            Assert.That(s.Image[i], Is.EqualTo(0.1f + 0.01f * (5 - x)));
            Assert.That(s.Labels[0][i], Is.EqualTo(5 - x));
            Assert.That(s.Values[2][i], Is.EqualTo(-0.6f));
            Assert.That(s.Values[2][48 + i], Is.EqualTo(0.8f));
        }
    }

    [Test]
    public void MtanScaleCrop_ZoomsLinearly_AndDividesDepthByTheScale()
    {
        const int h = 30, w = 40;
        var scalesSeen = new HashSet<double>();
        int flips = 0;
        for (ulong seed = 0; seed < 40; seed++)
        {
            var s = Ramp(h, w);
            var rng = new DeterministicRandom(seed);
            new MtanScaleCropFlip().Apply(s, ref rng);
            double sc = 3.0 / s.Values[1][0];
            Assert.That(new[] { 1.0, 1.2, 1.5 }.Any(v => Math.Abs(v - sc) < 1e-5), $"depth 3 became {s.Values[1][0]}");
            Assert.That(s.Values[1].Distinct().Count(), Is.EqualTo(1), "constant depth stays constant");
            scalesSeen.Add(Math.Round(sc, 1));
            int cw = (int)(w / Math.Round(sc, 1));
            bool flipped = s.Values[2][0] < 0;
            if (flipped) flips++;
            // Bilinear with align_corners=True maps x to j + x·(cw-1)/(w-1): the R ramp stays a ramp with that slope.
            double slope = 0.01 * (cw - 1.0) / (w - 1) * (flipped ? -1 : 1);
            double r0 = s.Image[0];
            for (int x = 0; x < w; x++)
                Assert.That(s.Image[5 * w + x], Is.EqualTo(r0 + slope * x).Within(1e-5), $"seed {seed} x {x}");
            // Labels (nearest) stay integers of the crop: monotone in x and within [0, w).
            var row = s.Labels[0].AsSpan(7 * w, w).ToArray();
            Assert.That(row.All(v => v >= 0 && v < w));
            var ordered = flipped ? row.Reverse().ToArray() : row;
            for (int x = 1; x < w; x++) Assert.That(ordered[x], Is.GreaterThanOrEqualTo(ordered[x - 1]));
            Assert.That(ordered[^1] - ordered[0], Is.EqualTo(cw - 1).Within(1), "the crop spans cw source columns");
        }
        Assert.That(scalesSeen, Is.EquivalentTo(new[] { 1.0, 1.2, 1.5 }));
        Assert.That(flips, Is.InRange(8, 32));
    }

    [Test]
    public void AstmtWarp_90Degrees_MatchesCv2RotationMatrix_AndRotatesNormals()
    {
        // cv2.getRotationMatrix2D((4, 4), 90, 1) = [[0, 1, 0], [-1, 0, 8]]: dst(x, y) = src(8 - y, x), zero outside.
        const int n = 8;
        var s = Ramp(n, n);
        var original = Ramp(n, n);
        for (int i = 0; i < n * n; i++) s.Labels[0][i] = original.Labels[0][i] = i;
        new AstmtFlipScaleRotate().Warp(s, 90, 1.0);
        for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
        {
            int sx = 8 - y, sy = x, i = y * n + x;
            bool inside = sx < n;
            Assert.That(s.Labels[0][i], Is.EqualTo(inside ? original.Labels[0][sy * n + sx] : 0), $"label ({x},{y})");
            Assert.That(s.Image[n * n + i], Is.EqualTo(inside ? original.Image[n * n + sy * n + sx] : 0f).Within(1e-6), $"G ({x},{y})");
            if (inside)
            {
                // (0.6, 0, 0.8) turned 90° counter-clockwise on screen (y up) is (0, 0.6, 0.8).
                Assert.That(s.Values[2][i], Is.EqualTo(0f).Within(1e-6));
                Assert.That(s.Values[2][n * n + i], Is.EqualTo(0.6f).Within(1e-6));
                Assert.That(s.Values[2][2 * n * n + i], Is.EqualTo(0.8f).Within(1e-6));
            }
        }
    }

    [Test]
    public void ResizedDataset_HalfSize_DepthAveragesTwoByTwoBlocks_AndPicksNearestLabels()
    {
        var sample = Ramp(8, 10);
        for (int i = 0; i < 80; i++) sample.Values[1][i] = 1f + 0.1f * (i % 10) + 0.3f * (i / 10) + ((i * 7) % 3);
        var inner = new ConstantDataset(sample);
        var resized = new ResizedDataset(inner, 4, 5);
        var s = new MultiTaskSample(Tasks, 4, 5);
        resized.Load(0, s);
        for (int y = 0; y < 4; y++)
        for (int x = 0; x < 5; x++)
        {
            // Bilinear with align_corners=False at half size samples the centre of each 2×2 block: its mean.
            double mean = 0;
            for (int dy = 0; dy < 2; dy++) for (int dx = 0; dx < 2; dx++) mean += sample.Values[1][(2 * y + dy) * 10 + 2 * x + dx] / 4.0;
            Assert.That(s.Values[1][y * 5 + x], Is.EqualTo(mean).Within(1e-5));
            Assert.That(s.Labels[0][y * 5 + x], Is.EqualTo(2 * x), "nearest = floor(dst·in/out)");
            Assert.That(s.Values[2][y * 5 + x], Is.EqualTo(0.6f).Within(1e-6), "normals re-normalised");
        }
    }

    [Test]
    public void ResizedDataset_Image_MatchesKeysCubicConvolution()
    {
        // Keys' kernel in its textbook piecewise form with a = -0.75 (cv2), replicated borders, pixel-centre alignment.
        static double K(double x)
        {
            const double a = -0.75;
            x = Math.Abs(x);
            return x <= 1 ? (a + 2) * x * x * x - (a + 3) * x * x + 1 : x < 2 ? a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a : 0;
        }
        const int h = 7, w = 9, oh = 5, ow = 13;
        var sample = Ramp(h, w);
        var rng = new Random(5);
        for (int i = 0; i < 3 * h * w; i++) sample.Image[i] = (float)rng.NextDouble();
        var resized = new ResizedDataset(new ConstantDataset(sample), oh, ow);
        var s = new MultiTaskSample(Tasks, oh, ow);
        resized.Load(0, s);
        for (int c = 0; c < 3; c++)
        for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
        {
            double sy = (y + 0.5) * h / oh - 0.5, sx = (x + 0.5) * w / ow - 0.5, acc = 0;
            for (int yy = (int)Math.Floor(sy) - 1; yy <= (int)Math.Floor(sy) + 2; yy++)
                for (int xx = (int)Math.Floor(sx) - 1; xx <= (int)Math.Floor(sx) + 2; xx++)
                    acc += K(sy - yy) * K(sx - xx) * sample.Image[c * h * w + Math.Clamp(yy, 0, h - 1) * w + Math.Clamp(xx, 0, w - 1)];
            Assert.That(s.Image[c * oh * ow + y * ow + x], Is.EqualTo(acc).Within(1e-5), $"c{c} ({x},{y})");
        }
    }

    private sealed class ConstantDataset(MultiTaskSample sample) : IMultiTaskDataset
    {
        public MultiTaskSample Sample { get; } = sample;
        public string Name => "constant";
        public int Count => 1;
        public int Height => Sample.Height;
        public int Width => Sample.Width;
        public IReadOnlyList<TaskSpec> Tasks => Sample.Tasks;

        public void Load(int index, MultiTaskSample into)
        {
            Sample.Image.CopyTo(into.Image, 0);
            for (int t = 0; t < Tasks.Count; t++) { Sample.Labels[t].CopyTo(into.Labels[t], 0); Sample.Values[t].CopyTo(into.Values[t], 0); }
        }
    }
}
