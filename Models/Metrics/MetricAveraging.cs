namespace Astmt.Models.Metrics;

/// <summary>How per-pixel errors are aggregated over a split; every result says which one it used.</summary>
public enum MetricAveraging
{
    /// <summary>
    /// The MTAN reference (HEAD utils.py): each batch's statistic over its valid pixels, then the mean over batches. The
    /// "median" is the mean of per-batch medians, not a median of the split.
    /// </summary>
    PerBatchMean,
    /// <summary>Statistics over all valid pixels of the split pooled together, with a true median (as LibMTL and ASTMT do).</summary>
    WholeSplit,
}
