using Astmt.Models.Mtan;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>The metric names the MTAN experiments report, and the task descriptions built from them.</summary>
internal static class MtanMetricNames
{
    public const string MeanIoU = "mIoU";
    public const string PixelAccuracy = "pix_acc";
    public const string AbsoluteError = "abs_err";
    public const string RelativeError = "rel_err";
    public const string MeanAngle = "mean_deg";
    public const string MedianAngle = "median_deg";
    public const string Within11 = "within_11.25";
    public const string Within22 = "within_22.5";
    public const string Within30 = "within_30";

    /// <summary>The trainer's description of <paramref name="task"/>.</summary>
    public static TaskInfo Describe(MtanTask task, int classes) => task switch
    {
        MtanTask.Semantic => new TaskInfo("semantic", MapKind.Segmentation, [new(MeanIoU, true), new(PixelAccuracy, true)], classes),
        MtanTask.Depth => new TaskInfo("depth", MapKind.Depth, [new(AbsoluteError, false), new(RelativeError, false)]),
        _ => new TaskInfo("normal", MapKind.Normals,
            [new(MeanAngle, false), new(MedianAngle, false), new(Within11, true), new(Within22, true), new(Within30, true)]),
    };

    /// <summary>Mean IoU over the classes that occur in the ground truth or the prediction (a class absent from both has no
    /// IoU; the reference would make the mean NaN), and pixel accuracy, from a K×K confusion matrix (rows = truth).</summary>
    public static (double MeanIoU, double PixelAccuracy) FromConfusion(ReadOnlySpan<double> counts, int k)
    {
        double trace = 0, total = 0, iouSum = 0;
        int present = 0;
        for (int c = 0; c < k; c++)
        {
            double row = 0, col = 0;
            for (int j = 0; j < k; j++) { row += counts[c * k + j]; col += counts[j * k + c]; }
            double diagonal = counts[c * k + c], union = row + col - diagonal;
            trace += diagonal;
            total += row;
            if (union > 0) { iouSum += diagonal / union; present++; }
        }
        return (present == 0 ? double.NaN : iouSum / present, total == 0 ? double.NaN : trace / total);
    }
}
