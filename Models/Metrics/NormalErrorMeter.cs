using Astmt.Engine;

namespace Astmt.Models.Metrics;

/// <summary>Surface-normal angle errors (degrees) and the fractions of pixels within 11.25°, 22.5° and 30° (in [0,1]).</summary>
/// <param name="Averaging">How pixels were pooled.</param>
/// <param name="Mean">Mean angle.</param>
/// <param name="Median">Median angle (mean of per-batch medians under <see cref="MetricAveraging.PerBatchMean"/>).</param>
/// <param name="Rmse">Root mean square angle.</param>
/// <param name="Within11">Fraction below 11.25°.</param>
/// <param name="Within22">Fraction below 22.5°.</param>
/// <param name="Within30">Fraction below 30°.</param>
/// <param name="ValidPixels">Valid pixels seen.</param>
public readonly record struct NormalErrors(MetricAveraging Averaging, double Mean, double Median, double Rmse,
    double Within11, double Within22, double Within30, long ValidPixels)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"normal mean {Mean:F2}° median {Median:F2}° rmse {Rmse:F2}° <11.25 {Within11:P1} <22.5 {Within22:P1} <30 {Within30:P1} [{Averaging}, {ValidPixels} px]";
}

/// <summary>
/// Accumulates normal errors: angle = degrees(acos(clamp(Σ_c p·g, −1, 1))) over valid pixels, as the reference computes it
/// (predictions are expected unit-length; set <see cref="NormalizePrediction"/> for raw outputs, as ASTMT's evaluation does).
/// A pixel is valid when the ground truth's channel sum is non-zero (MTAN's mask) or, with <see cref="MaskFromNorm"/>, when
/// its norm is non-zero (ASTMT's). Medians follow numpy (the mean of the two middle values for an even count). The whole-split
/// median is exact: it keeps one float per valid pixel.
/// </summary>
public sealed class NormalErrorMeter(MetricAveraging averaging)
{
    private float[] _angles = new float[1024];
    private int _count;
    private double _sum, _sqSum;
    private long _n11, _n22, _n30, _valid;
    private double _bMean, _bMedian, _bRmse, _b11, _b22, _b30;
    private int _batches;

    /// <summary>The aggregation this meter uses.</summary>
    public MetricAveraging Averaging { get; } = averaging;

    /// <summary>Normalise each predicted vector before the dot product.</summary>
    public bool NormalizePrediction { get; init; }

    /// <summary>Validity from the ground truth's norm instead of its channel sum.</summary>
    public bool MaskFromNorm { get; init; }

    /// <summary>Adds a batch of <paramref name="images"/> images in 3×H×W layout each (B×3×H×W flattened).</summary>
    public void Update(ReadOnlySpan<float> predicted, ReadOnlySpan<float> truth, int images)
    {
        if (predicted.Length != truth.Length || images <= 0 || truth.Length % (3 * images) != 0)
            throw new ArgumentException($"NormalErrorMeter.Update: expected two B×3×H×W arrays with B = {images}, got {predicted.Length} and {truth.Length} values.");
        int plane = truth.Length / (3 * images);
        int batchStart = Averaging == MetricAveraging.WholeSplit ? _count : 0;
        if (Averaging == MetricAveraging.PerBatchMean) _count = 0;
        EnsureCapacity(_count + images * plane);
        double sum = 0, sq = 0; long n11 = 0, n22 = 0, n30 = 0;
        for (int b = 0; b < images; b++)
        {
            int o = b * 3 * plane;
            for (int i = 0; i < plane; i++)
            {
                double gx = truth[o + i], gy = truth[o + plane + i], gz = truth[o + 2 * plane + i];
                bool isValid = MaskFromNorm ? gx * gx + gy * gy + gz * gz != 0 : (float)((float)(gx + gy) + gz) != 0;
                if (!isValid) continue;
                double px = predicted[o + i], py = predicted[o + plane + i], pz = predicted[o + 2 * plane + i];
                if (NormalizePrediction)
                {
                    double norm = Math.Sqrt(px * px + py * py + pz * pz);
                    if (norm > 0) { px /= norm; py /= norm; pz /= norm; }
                }
                double angle = Math.Acos(Math.Clamp(px * gx + py * gy + pz * gz, -1.0, 1.0)) * (180.0 / Math.PI);
                _angles[_count++] = (float)angle;
                sum += angle; sq += angle * angle;
                if (angle < 11.25) n11++;
                if (angle < 22.5) n22++;
                if (angle < 30) n30++;
            }
        }
        long valid = _count - batchStart;
        _sum += sum; _sqSum += sq; _n11 += n11; _n22 += n22; _n30 += n30; _valid += valid;
        if (Averaging == MetricAveraging.PerBatchMean && valid > 0)
        {
            _bMean += sum / valid; _bRmse += Math.Sqrt(sq / valid);
            _bMedian += Median(_angles.AsSpan(0, _count));
            _b11 += (double)n11 / valid; _b22 += (double)n22 / valid; _b30 += (double)n30 / valid;
            _batches++;
        }
    }

    /// <summary>Adds a batch of B×3×H×W float32 tensors.</summary>
    public void Update(Tensor predicted, Tensor truth)
    {
        TensorSpans.ExpectMapAndTruth(predicted, truth, 3, "NormalErrorMeter.Update", "prediction");
        Update(TensorSpans.Floats(predicted, "normal prediction"), TensorSpans.Floats(truth, "normal ground truth"), predicted.Shape[0]);
    }

    /// <summary>The errors so far (NaN before any valid pixel).</summary>
    public NormalErrors Result
    {
        get
        {
            if (Averaging == MetricAveraging.PerBatchMean)
                return new NormalErrors(Averaging, Div(_bMean, _batches), Div(_bMedian, _batches), Div(_bRmse, _batches),
                    Div(_b11, _batches), Div(_b22, _batches), Div(_b30, _batches), _valid);
            double median = _count == 0 ? double.NaN : Median(_angles.AsSpan(0, _count));
            return new NormalErrors(Averaging, Div(_sum, _valid), median, Math.Sqrt(Div(_sqSum, _valid)),
                Div(_n11, _valid), Div(_n22, _valid), Div(_n30, _valid), _valid);
        }
    }

    // numpy's median; reorders the span.
    private static double Median(Span<float> values)
    {
        if (values.Length == 0) return double.NaN;
        values.Sort();
        int m = values.Length / 2;
        return values.Length % 2 == 1 ? values[m] : 0.5 * ((double)values[m - 1] + values[m]);
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _angles.Length) return;
        Array.Resize(ref _angles, Math.Max(needed, (int)Math.Min(Array.MaxLength, 2L * _angles.Length)));
    }

    private static double Div(double a, double b) => b == 0 ? double.NaN : a / b;
}
