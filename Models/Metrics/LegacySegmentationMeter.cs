using Astmt.Engine;

namespace Astmt.Models.Metrics;

/// <summary>Paper-era segmentation scores: per-image mIoU and pixel accuracy, averaged over each batch's images, then over batches.</summary>
/// <param name="MeanIoU">Mean over batches of the mean over images of the image's mIoU.</param>
/// <param name="PixelAccuracy">Same averaging for the image's pixel accuracy.</param>
/// <param name="Images">Images counted (images without labelled pixels are skipped).</param>
public readonly record struct LegacySegmentationScores(double MeanIoU, double PixelAccuracy, int Images);

/// <summary>
/// The MTAN paper's segmentation metric (legacy code of commit 306b807, kept commented out in HEAD utils.py): for each image,
/// the IoU of every class whose union is non-empty in that image (pixels labelled void are excluded from the union) is
/// averaged; pixel accuracy is #(pred = gt) / #(gt ≥ 0). Both are averaged over the images of a batch and then over batches.
/// The README notes the accumulated <see cref="ConfusionMatrix"/> formula gives about 8% higher mIoU.
/// </summary>
public sealed class LegacySegmentationMeter(int classCount)
{
    private readonly long[] _intersection = new long[classCount], _union = new long[classCount];
    private double _batchIoU, _batchAcc;
    private int _batches, _images;

    /// <summary>Number of classes.</summary>
    public int ClassCount { get; } = classCount;

    /// <summary>Adds a batch of <paramref name="images"/> equal-size images of predicted and true labels (truth &lt; 0 is void).</summary>
    public void Update(ReadOnlySpan<long> predicted, ReadOnlySpan<long> truth, int images)
    {
        if (predicted.Length != truth.Length || images <= 0 || truth.Length % images != 0)
            throw new ArgumentException($"LegacySegmentationMeter.Update: expected two arrays of {images} equal-size images, got {predicted.Length} and {truth.Length} values.");
        int per = truth.Length / images;
        double iouSum = 0, accSum = 0;
        int counted = 0;
        for (int n = 0; n < images; n++)
        {
            Array.Clear(_intersection);
            Array.Clear(_union);
            long correct = 0, labelled = 0;
            for (int i = n * per; i < (n + 1) * per; i++)
            {
                long t = truth[i];
                if (t < 0) continue;
                long p = predicted[i];
                if ((ulong)t >= (ulong)ClassCount || (ulong)p >= (ulong)ClassCount)
                    throw new ArgumentOutOfRangeException(nameof(truth), $"LegacySegmentationMeter: label {t} or prediction {p} outside [0, {ClassCount}).");
                labelled++;
                if (p == t) { correct++; _intersection[t]++; _union[t]++; }
                else { _union[t]++; _union[p]++; }
            }
            if (labelled == 0) continue;
            double sum = 0; int present = 0;
            for (int c = 0; c < ClassCount; c++)
                if (_union[c] > 0) { sum += (double)_intersection[c] / _union[c]; present++; }
            iouSum += sum / present;
            accSum += (double)correct / labelled;
            counted++;
        }
        if (counted == 0) return;
        _batchIoU += iouSum / counted;
        _batchAcc += accSum / counted;
        _batches++;
        _images += counted;
    }

    /// <summary>Adds a batch of B×K×H×W scores (arg-max is the prediction) and B×H×W int64 labels.</summary>
    public void Update(Tensor scores, Tensor labels)
    {
        TensorSpans.ExpectScoresAndLabels(scores, labels, ClassCount, "LegacySegmentationMeter.Update");
        var s = TensorSpans.Floats(scores, "LegacySegmentationMeter scores");
        int b = scores.Shape[0], k = ClassCount, plane = scores.Shape[2] * scores.Shape[3];
        var predicted = new long[b * plane];
        for (int n = 0; n < b; n++)
            for (int i = 0; i < plane; i++)
            {
                int best = 0;
                float bestValue = s[n * k * plane + i];
                for (int c = 1; c < k; c++)
                {
                    float v = s[(n * k + c) * plane + i];
                    if (v > bestValue) { bestValue = v; best = c; }
                }
                predicted[n * plane + i] = best;
            }
        Update(predicted, TensorSpans.Longs(labels, "LegacySegmentationMeter labels"), b);
    }

    /// <summary>The scores so far (NaN before any labelled image).</summary>
    public LegacySegmentationScores Result => _batches == 0
        ? new LegacySegmentationScores(double.NaN, double.NaN, 0)
        : new LegacySegmentationScores(_batchIoU / _batches, _batchAcc / _batches, _images);
}
