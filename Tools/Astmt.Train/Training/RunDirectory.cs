namespace Astmt.Train.Training;

/// <summary>The layout of a run directory.</summary>
/// <param name="Root">The run directory.</param>
public sealed record RunDirectory(string Root)
{
    /// <summary>The full resolved configuration.</summary>
    public string ConfigPath => Path.Combine(Root, "config.yaml");

    /// <summary>One JSON line per finished epoch.</summary>
    public string MetricsPath => Path.Combine(Root, "metrics.jsonl");

    /// <summary>Checkpoints, their JSON metadata and the <c>last</c>/<c>best</c> pointers.</summary>
    public string CheckpointsFolder => Path.Combine(Root, "checkpoints");

    /// <summary>The self-contained HTML report.</summary>
    public string ReportPath => Path.Combine(Root, "report.html");

    /// <summary>PNG prediction grids, one per task.</summary>
    public string PredictionsFolder => Path.Combine(Root, "predictions");
}
