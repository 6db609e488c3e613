using Astmt.Engine;

namespace Astmt.Models.Metrics;

/// <summary>Depth errors over a split and how they were aggregated.</summary>
/// <param name="Averaging">How pixels were pooled.</param>
/// <param name="AbsoluteError">Mean |p − g| over valid pixels.</param>
/// <param name="RelativeError">Mean |p − g| / g over valid pixels.</param>
/// <param name="Rmse">sqrt(mean (p − g)²) over valid pixels.</param>
/// <param name="RmsePerImageMean">ASTMT's protocol: RMSE of each image over its valid pixels, averaged over images.</param>
/// <param name="ValidPixels">Valid pixels seen.</param>
public readonly record struct DepthErrors(MetricAveraging Averaging, double AbsoluteError, double RelativeError, double Rmse,
    double RmsePerImageMean, long ValidPixels)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"depth abs {AbsoluteError:F4} rel {RelativeError:F4} rmse {Rmse:F4} (per-image rmse {RmsePerImageMean:F4}) [{Averaging}, {ValidPixels} px]";
}

/// <summary>
/// Accumulates depth errors. Valid pixels are those whose ground truth is non-zero (the reference's mask: the channel sum of
/// the ground truth ≠ 0). In <see cref="MetricAveraging.PerBatchMean"/> each batch contributes its mean over its valid pixels
/// and the split value is the mean over batches (MTAN HEAD); batches without valid pixels are skipped (the reference would
/// produce NaN). In <see cref="MetricAveraging.WholeSplit"/> every valid pixel of the split counts once.
/// </summary>
/// <remarks>
/// ASTMT's own evaluation counts every pixel as valid (a bug: it sets 0 to 1e-9 before building the mask); this meter always
/// uses the valid pixels, as the ASTMT issue asks.
/// </remarks>
public sealed class DepthErrorMeter(MetricAveraging averaging)
{
    private double _absSum, _relSum, _sqSum;
    private long _valid;
    private double _batchAbs, _batchRel, _batchRmse;
    private int _batches;
    private double _imageRmseSum;
    private int _images;

    /// <summary>The aggregation this meter uses.</summary>
    public MetricAveraging Averaging { get; } = averaging;

    /// <summary>Adds a batch: predictions and ground truth of the same length, <paramref name="images"/> images of equal size.</summary>
    public void Update(ReadOnlySpan<float> predicted, ReadOnlySpan<float> truth, int images = 1)
    {
        if (predicted.Length != truth.Length)
            throw new ArgumentException($"DepthErrorMeter.Update: {predicted.Length} predictions for {truth.Length} ground-truth values.");
        if (images <= 0 || truth.Length % images != 0)
            throw new ArgumentException($"DepthErrorMeter.Update: {truth.Length} values do not split into {images} images.");
        double abs = 0, rel = 0, sq = 0;
        long valid = 0;
        int per = truth.Length / images;
        for (int n = 0; n < images; n++)
        {
            double imageSq = 0; long imageValid = 0;
            for (int i = n * per; i < (n + 1) * per; i++)
            {
                double g = truth[i];
                if (g == 0) continue;
                double d = predicted[i] - g;
                abs += Math.Abs(d);
                rel += Math.Abs(d) / g;
                imageSq += d * d;
                imageValid++;
            }
            if (imageValid > 0) { _imageRmseSum += Math.Sqrt(imageSq / imageValid); _images++; }
            sq += imageSq;
            valid += imageValid;
        }
        _absSum += abs; _relSum += rel; _sqSum += sq; _valid += valid;
        if (valid > 0)
        {
            _batchAbs += abs / valid; _batchRel += rel / valid; _batchRmse += Math.Sqrt(sq / valid);
            _batches++;
        }
    }

    /// <summary>Adds a batch of B×1×H×W float32 tensors.</summary>
    public void Update(Tensor predicted, Tensor truth)
    {
        TensorSpans.ExpectMapAndTruth(predicted, truth, 1, "DepthErrorMeter.Update", "prediction");
        Update(TensorSpans.Floats(predicted, "depth prediction"), TensorSpans.Floats(truth, "depth ground truth"), predicted.Shape[0]);
    }

    /// <summary>The errors so far (NaN before any valid pixel).</summary>
    public DepthErrors Result => Averaging == MetricAveraging.PerBatchMean
        ? new DepthErrors(Averaging, Div(_batchAbs, _batches), Div(_batchRel, _batches), Div(_batchRmse, _batches), Div(_imageRmseSum, _images), _valid)
        : new DepthErrors(Averaging, Div(_absSum, _valid), Div(_relSum, _valid), Math.Sqrt(Div(_sqSum, _valid)), Div(_imageRmseSum, _images), _valid);

    private static double Div(double a, double b) => b == 0 ? double.NaN : a / b;
}
