using Astmt.Engine;

namespace Astmt.Models.Metrics;

/// <summary>
/// A K×K confusion matrix accumulated over a split (rows = ground truth, columns = prediction), as the MTAN reference's
/// ConfMatrix and ASTMT's semseg/human-parts evaluation do. Ground-truth labels outside [0, K) — MTAN's -1, ASTMT's 255 —
/// are ignored.
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] _counts;

    /// <summary>Creates an empty matrix for <paramref name="classCount"/> classes.</summary>
    public ConfusionMatrix(int classCount)
    {
        if (classCount <= 0) throw new ArgumentOutOfRangeException(nameof(classCount), $"A confusion matrix needs at least one class, got {classCount}.");
        ClassCount = classCount;
        _counts = new long[classCount * classCount];
    }

    /// <summary>Number of classes K.</summary>
    public int ClassCount { get; }

    /// <summary>Count of pixels with ground truth <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => _counts[truth * ClassCount + predicted];

    /// <summary>Pixels counted so far.</summary>
    public long Total { get; private set; }

    /// <summary>Adds pixels given predicted and true labels of equal length.</summary>
    public void Update(ReadOnlySpan<long> predicted, ReadOnlySpan<long> truth)
    {
        if (predicted.Length != truth.Length)
            throw new ArgumentException($"ConfusionMatrix.Update: {predicted.Length} predictions for {truth.Length} labels.");
        int k = ClassCount;
        long added = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            long t = truth[i];
            if ((ulong)t >= (ulong)k) continue;
            long p = predicted[i];
            if ((ulong)p >= (ulong)k)
                throw new ArgumentOutOfRangeException(nameof(predicted), $"ConfusionMatrix.Update: prediction {p} at {i} is outside [0, {k}).");
            _counts[t * k + p]++;
            added++;
        }
        Total += added;
    }

    /// <summary>Adds a batch of scores (B×K×H×W logits or log-probabilities; the arg-max is the prediction) and labels (B×H×W int64).</summary>
    public void Update(Tensor scores, Tensor labels)
    {
        TensorSpans.ExpectScoresAndLabels(scores, labels, ClassCount, "ConfusionMatrix.Update");
        var s = TensorSpans.Floats(scores, "ConfusionMatrix scores");
        var l = TensorSpans.Longs(labels, "ConfusionMatrix labels");
        int b = scores.Shape[0], k = ClassCount, plane = scores.Shape[2] * scores.Shape[3];
        var predicted = new long[plane];
        for (int n = 0; n < b; n++)
        {
            var sn = s.Slice(n * k * plane, k * plane);
            for (int i = 0; i < plane; i++)
            {
                int best = 0;
                float bestValue = sn[i];
                // First maximum wins, as torch.argmax does for ties.
                for (int c = 1; c < k; c++)
                {
                    float v = sn[c * plane + i];
                    if (v > bestValue) { bestValue = v; best = c; }
                }
                predicted[i] = best;
            }
            Update(predicted, l.Slice(n * plane, plane));
        }
    }

    /// <summary>Adds another matrix's counts (e.g. from another worker).</summary>
    public void Add(ConfusionMatrix other)
    {
        if (other.ClassCount != ClassCount) throw new ArgumentException($"Cannot add a {other.ClassCount}-class matrix to a {ClassCount}-class one.");
        for (int i = 0; i < _counts.Length; i++) _counts[i] += other._counts[i];
        Total += other.Total;
    }

    /// <summary>Pixel accuracy trace/sum (NaN when empty).</summary>
    public double PixelAccuracy
    {
        get
        {
            long trace = 0;
            for (int c = 0; c < ClassCount; c++) trace += this[c, c];
            return Total == 0 ? double.NaN : (double)trace / Total;
        }
    }

    /// <summary>IoU of each class, M_cc / (row_c + col_c - M_cc); NaN for a class that never occurs in truth or prediction.</summary>
    public double[] ClassIoU()
    {
        var iou = new double[ClassCount];
        for (int c = 0; c < ClassCount; c++)
        {
            long row = 0, col = 0;
            for (int j = 0; j < ClassCount; j++) { row += this[c, j]; col += this[j, c]; }
            long union = row + col - this[c, c];
            iou[c] = union == 0 ? double.NaN : (double)this[c, c] / union;
        }
        return iou;
    }

    /// <summary>Mean IoU over all K classes, background included; NaN if any class has an empty union (as the reference).</summary>
    public double MeanIoU => ClassIoU().Average();

    /// <summary>Mean IoU over the classes with a non-empty union only.</summary>
    public double MeanIoUPresent
    {
        get
        {
            double sum = 0; int n = 0;
            foreach (var v in ClassIoU()) if (!double.IsNaN(v)) { sum += v; n++; }
            return n == 0 ? double.NaN : sum / n;
        }
    }

    /// <summary>Clears the counts.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        Total = 0;
    }
}
