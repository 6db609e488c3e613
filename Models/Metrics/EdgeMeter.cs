using Astmt.Engine;

namespace Astmt.Models.Metrics;

/// <summary>Edge detection results over a split.</summary>
/// <param name="OdsF">Optimal dataset scale F: the best F over thresholds, with counts pooled over the split.</param>
/// <param name="OdsThreshold">Threshold of <paramref name="OdsF"/>.</param>
/// <param name="OisF">Optimal image scale F: each image's best F, averaged.</param>
/// <param name="Images">Images seen.</param>
public readonly record struct EdgeResult(double OdsF, double OdsThreshold, double OisF, int Images);

/// <summary>
/// An approximation of the boundary benchmark (seism / BSDS "fb") ASTMT used for edges. A predicted pixel with p ≥ t counts
/// as correct when a ground-truth edge pixel lies within the tolerance radius (0.0075 of the image diagonal, the benchmark's
/// default maxDist), and a ground-truth pixel counts as recalled when a predicted pixel (p ≥ t) lies within the radius.
/// </summary>
/// <remarks>
/// Differences from the MATLAB benchmark: no one-to-one (bipartite) matching of pixels, so several predicted pixels can match
/// one true pixel, and no thinning (non-maximum suppression) of the predictions; thick predictions therefore score a higher
/// precision than under seism. Thresholds default to 0.01..0.99 in steps of 0.01. The two counts for every threshold come from
/// one pass: a disc max-filter of the prediction (for recall) and a disc dilation of the ground truth (for precision).
/// </remarks>
public sealed class EdgeMeter
{
    private readonly long[] _matchedPred, _pred, _matchedTruth;
    private long _truth;
    private double _oisSum;
    private int _images;

    /// <summary>Creates a meter with <paramref name="thresholdCount"/> thresholds k/(count+1).</summary>
    public EdgeMeter(int thresholdCount = 99, double toleranceFraction = 0.0075)
    {
        if (thresholdCount <= 0) throw new ArgumentOutOfRangeException(nameof(thresholdCount), $"Need at least one threshold, got {thresholdCount}.");
        Thresholds = Enumerable.Range(1, thresholdCount).Select(k => k / (thresholdCount + 1.0)).ToArray();
        ToleranceFraction = toleranceFraction;
        _matchedPred = new long[thresholdCount];
        _pred = new long[thresholdCount];
        _matchedTruth = new long[thresholdCount];
    }

    /// <summary>The thresholds on the edge probability.</summary>
    public double[] Thresholds { get; }

    /// <summary>Match tolerance as a fraction of the image diagonal.</summary>
    public double ToleranceFraction { get; }

    /// <summary>Adds <paramref name="images"/> H×W edge-probability maps and their ground truth (edge where g &gt; 0.5).</summary>
    public void Update(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> truth, int images, int height, int width)
    {
        int plane = height * width;
        if (probabilities.Length != truth.Length || probabilities.Length != images * plane)
            throw new ArgumentException($"EdgeMeter.Update: expected two arrays of {images}×{height}×{width}, got {probabilities.Length} and {truth.Length} values.");
        double radius = ToleranceFraction * Math.Sqrt((double)height * height + (double)width * width);
        var offsets = DiscOffsets(radius);
        var nearTruth = new bool[plane];
        var nearbyMax = new float[plane];
        int k = Thresholds.Length;
        var mp = new long[k]; var pp = new long[k]; var mt = new long[k];
        for (int n = 0; n < images; n++)
        {
            var p = probabilities.Slice(n * plane, plane);
            var g = truth.Slice(n * plane, plane);
            Array.Clear(nearTruth);
            Array.Fill(nearbyMax, float.NegativeInfinity);
            long truthCount = 0;
            for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = y * width + x;
                bool isTruth = g[i] > 0.5f;
                if (isTruth) truthCount++;
                float v = p[i];
                foreach (var (dy, dx) in offsets)
                {
                    int yy = y + dy, xx = x + dx;
                    if ((uint)yy >= (uint)height || (uint)xx >= (uint)width) continue;
                    int j = yy * width + xx;
                    if (isTruth) nearTruth[j] = true;
                    if (v > nearbyMax[j]) nearbyMax[j] = v;
                }
            }
            Array.Clear(mp); Array.Clear(pp); Array.Clear(mt);
            for (int i = 0; i < plane; i++)
            {
                int predUpTo = CountAtOrBelow(p[i]);
                for (int t = 0; t < predUpTo; t++) { pp[t]++; if (nearTruth[i]) mp[t]++; }
                if (g[i] > 0.5f)
                {
                    int recallUpTo = CountAtOrBelow(nearbyMax[i]);
                    for (int t = 0; t < recallUpTo; t++) mt[t]++;
                }
            }
            double bestF = 0;
            for (int t = 0; t < k; t++)
            {
                _matchedPred[t] += mp[t]; _pred[t] += pp[t]; _matchedTruth[t] += mt[t];
                bestF = Math.Max(bestF, F(mp[t], pp[t], mt[t], truthCount));
            }
            _truth += truthCount;
            _oisSum += bestF;
            _images++;
        }
    }

    /// <summary>Adds B×1×H×W probabilities and ground truth.</summary>
    public void Update(Tensor probabilities, Tensor truth)
    {
        TensorSpans.ExpectMapAndTruth(probabilities, truth, 1, "EdgeMeter.Update", "probabilities");
        Update(TensorSpans.Floats(probabilities, "edge probabilities"), TensorSpans.Floats(truth, "edge ground truth"),
            probabilities.Shape[0], probabilities.Shape[2], probabilities.Shape[3]);
    }

    /// <summary>The result so far.</summary>
    public EdgeResult Result
    {
        get
        {
            if (_images == 0) return new EdgeResult(double.NaN, double.NaN, double.NaN, 0);
            double best = 0, bestT = Thresholds[0];
            for (int t = 0; t < Thresholds.Length; t++)
            {
                double f = F(_matchedPred[t], _pred[t], _matchedTruth[t], _truth);
                if (f > best) { best = f; bestT = Thresholds[t]; }
            }
            return new EdgeResult(best, bestT, _oisSum / _images, _images);
        }
    }

    // Number of thresholds t_k with t_k <= v (thresholds ascend).
    private int CountAtOrBelow(float v)
    {
        int lo = 0, hi = Thresholds.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (Thresholds[mid] <= v) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private static double F(long matchedPred, long pred, long matchedTruth, long truth)
    {
        double p = pred == 0 ? 0 : (double)matchedPred / pred;
        double r = truth == 0 ? 0 : (double)matchedTruth / truth;
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    private static (int Dy, int Dx)[] DiscOffsets(double radius)
    {
        int r = (int)Math.Floor(radius);
        var list = new List<(int, int)>();
        for (int dy = -r; dy <= r; dy++)
            for (int dx = -r; dx <= r; dx++)
                if (dy * dy + dx * dx <= radius * radius) list.Add((dy, dx));
        return list.ToArray();
    }
}
