namespace Astmt.Train.Experiments;

/// <summary>What kind of map a task predicts, which decides how it is drawn in prediction grids.</summary>
public enum MapKind
{
    /// <summary>Per-pixel class indices (semantic segmentation, human parts); drawn with a class palette, negative labels black.</summary>
    Segmentation,
    /// <summary>Per-pixel metric depth; drawn with a colour map scaled to the ground truth's valid range, invalid (≤ 0) black.</summary>
    Depth,
    /// <summary>Per-pixel unit normals, three channels; drawn as RGB = (n + 1) / 2, zero vectors black.</summary>
    Normals,
    /// <summary>Per-pixel values in [0, 1] (edges, saliency); drawn as grey levels.</summary>
    Probability,
}

/// <summary>A metric a task reports, and which direction is better.</summary>
/// <param name="Name">Short name shown in tables and reports, for example <c>mIoU</c> or <c>abs_err</c>.</param>
/// <param name="HigherIsBetter">True for accuracies and IoUs, false for errors.</param>
public sealed record MetricInfo(string Name, bool HigherIsBetter);

/// <summary>One task of a multi-task experiment.</summary>
/// <param name="Name">Task name, used as the key of losses, metrics and weights (for example <c>semantic</c>, <c>depth</c>).</param>
/// <param name="Kind">How its maps are drawn.</param>
/// <param name="Metrics">The metrics its evaluation reports, in display order.</param>
/// <param name="Classes">Number of classes for <see cref="MapKind.Segmentation"/>; 0 otherwise.</param>
public sealed record TaskInfo(string Name, MapKind Kind, IReadOnlyList<MetricInfo> Metrics, int Classes = 0);
