using Astmt.Engine;

namespace Astmt.Models.Metrics;

/// <summary>Saliency results: ASTMT's max-F and max-mIoU over thresholds, and the thresholds that reached them.</summary>
/// <param name="MaxF">max_t F(mean precision_t, mean recall_t).</param>
/// <param name="MaxF_Threshold">Threshold of <paramref name="MaxF"/>.</param>
/// <param name="MaxMeanIoU">max_t mean over images of IoU_t (the number ASTMT uses in Δm).</param>
/// <param name="MaxMeanIoU_Threshold">Threshold of <paramref name="MaxMeanIoU"/>.</param>
/// <param name="Images">Images seen.</param>
public readonly record struct SaliencyResult(double MaxF, double MaxF_Threshold, double MaxMeanIoU, double MaxMeanIoU_Threshold, int Images);

/// <summary>
/// ASTMT's saliency evaluation: for 15 thresholds linspace(0.2, 0.9), each image's prediction p &gt; t is compared with the
/// ground truth g &gt; 0.5; per image IoU (1 when both are empty), precision and recall (0 when their denominator is 0) are
/// averaged over images; then max F and max mIoU over thresholds.
/// </summary>
public sealed class SaliencyMeter
{
    private readonly double[] _iou, _precision, _recall;
    private int _images;

    /// <summary>Creates a meter with ASTMT's thresholds or the given ones.</summary>
    public SaliencyMeter(double[]? thresholds = null)
    {
        Thresholds = thresholds ?? Enumerable.Range(0, 15).Select(i => 0.2 + 0.7 * i / 14.0).ToArray();
        _iou = new double[Thresholds.Length];
        _precision = new double[Thresholds.Length];
        _recall = new double[Thresholds.Length];
    }

    /// <summary>The thresholds on the predicted probability.</summary>
    public double[] Thresholds { get; }

    /// <summary>Adds <paramref name="images"/> images: probabilities in [0,1] and ground truth, equal lengths.</summary>
    public void Update(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> truth, int images)
    {
        if (probabilities.Length != truth.Length || images <= 0 || truth.Length % images != 0)
            throw new ArgumentException($"SaliencyMeter.Update: expected two arrays of {images} equal-size images, got {probabilities.Length} and {truth.Length} values.");
        int per = truth.Length / images;
        for (int n = 0; n < images; n++)
        {
            var p = probabilities.Slice(n * per, per);
            var g = truth.Slice(n * per, per);
            for (int k = 0; k < Thresholds.Length; k++)
            {
                double t = Thresholds[k];
                long tp = 0, fp = 0, fn = 0;
                for (int i = 0; i < per; i++)
                {
                    bool pred = p[i] > t, gt = g[i] > 0.5f;
                    if (pred && gt) tp++;
                    else if (pred) fp++;
                    else if (gt) fn++;
                }
                _iou[k] += tp + fp + fn == 0 ? 1.0 : (double)tp / (tp + fp + fn);
                _precision[k] += tp + fp == 0 ? 0.0 : (double)tp / (tp + fp);
                _recall[k] += tp + fn == 0 ? 0.0 : (double)tp / (tp + fn);
            }
            _images++;
        }
    }

    /// <summary>Adds B×1×H×W probabilities and ground truth.</summary>
    public void Update(Tensor probabilities, Tensor truth)
    {
        TensorSpans.ExpectMapAndTruth(probabilities, truth, 1, "SaliencyMeter.Update", "probabilities");
        Update(TensorSpans.Floats(probabilities, "saliency probabilities"), TensorSpans.Floats(truth, "saliency ground truth"), probabilities.Shape[0]);
    }

    /// <summary>The result so far.</summary>
    public SaliencyResult Result
    {
        get
        {
            if (_images == 0) return new SaliencyResult(double.NaN, double.NaN, double.NaN, double.NaN, 0);
            double bestF = -1, bestFt = 0, bestIoU = -1, bestIoUt = 0;
            for (int k = 0; k < Thresholds.Length; k++)
            {
                double p = _precision[k] / _images, r = _recall[k] / _images, iou = _iou[k] / _images;
                double f = p + r == 0 ? 0 : 2 * p * r / (p + r);
                if (f > bestF) { bestF = f; bestFt = Thresholds[k]; }
                if (iou > bestIoU) { bestIoU = iou; bestIoUt = Thresholds[k]; }
            }
            return new SaliencyResult(bestF, bestFt, bestIoU, bestIoUt, _images);
        }
    }
}
