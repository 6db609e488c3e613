using Astmt.Models.Data;

namespace Astmt.Models.Mtan;

/// <summary>Task lists and class counts per dataset, and the output channels of each task.</summary>
public static class MtanTasks
{
    /// <summary>Classes of the semantic task on <paramref name="dataset"/>.</summary>
    public static int ClassCount(MtanDataset dataset) => dataset == MtanDataset.NyuV2 ? 13 : 7;

    /// <summary>The tasks trained on <paramref name="dataset"/>, in the reference's order (heads pred_task1, pred_task2, …).</summary>
    public static IReadOnlyList<MtanTask> For(MtanDataset dataset) =>
        dataset == MtanDataset.NyuV2 ? [MtanTask.Semantic, MtanTask.Depth, MtanTask.Normal] : [MtanTask.Semantic, MtanTask.Depth];

    /// <summary>Output channels of <paramref name="task"/>'s head.</summary>
    public static int Channels(MtanTask task, int classCount) => task switch
    {
        MtanTask.Semantic => classCount,
        MtanTask.Depth => 1,
        _ => 3,
    };

    /// <summary>The task's name in datasets and batches ("semantic", "depth", "normal").</summary>
    public static string Name(MtanTask task) => task switch
    {
        MtanTask.Semantic => "semantic",
        MtanTask.Depth => "depth",
        _ => "normal",
    };

    /// <summary>The data layer's description of <paramref name="task"/>: its name, kind, channels, classes and ignore label −1.</summary>
    public static TaskSpec Spec(MtanTask task, int classCount) => task switch
    {
        MtanTask.Semantic => TaskSpec.Labels("semantic", TaskKind.Semantic, classCount, -1),
        MtanTask.Depth => TaskSpec.Dense("depth", TaskKind.Depth),
        _ => TaskSpec.Dense("normal", TaskKind.Normal),
    };

    /// <summary>The MTAN task for a data-layer task kind; the ASTMT-only kinds (parts, edges, saliency) have none.</summary>
    public static MtanTask FromKind(TaskKind kind) => kind switch
    {
        TaskKind.Semantic => MtanTask.Semantic,
        TaskKind.Depth => MtanTask.Depth,
        TaskKind.Normal => MtanTask.Normal,
        _ => throw new ArgumentException($"MTAN networks have no head for {kind} targets; they predict semantic, depth and normal."),
    };

    /// <summary>Parses "semantic", "depth" or "normal" (as the reference's <c>--task</c>).</summary>
    public static MtanTask Parse(string name) => name.ToLowerInvariant() switch
    {
        "semantic" or "seg" or "segmentation" => MtanTask.Semantic,
        "depth" => MtanTask.Depth,
        "normal" or "normals" => MtanTask.Normal,
        _ => throw new ArgumentException($"Unknown MTAN task '{name}'; expected semantic, depth or normal."),
    };

    /// <summary>Parses "nyuv2" or "cityscapes".</summary>
    public static MtanDataset ParseDataset(string name) => name.ToLowerInvariant() switch
    {
        "nyuv2" or "nyu" => MtanDataset.NyuV2,
        "cityscapes" => MtanDataset.CityScapes,
        _ => throw new ArgumentException($"Unknown MTAN dataset '{name}'; expected nyuv2 or cityscapes."),
    };
}
