namespace Astmt.Models.Mtan;

/// <summary>The dense-prediction tasks of the MTAN experiments.</summary>
public enum MtanTask
{
    /// <summary>Semantic segmentation: log-probabilities over the classes, trained with NLL (ignore −1).</summary>
    Semantic,
    /// <summary>Depth: one raw linear channel, trained with masked L1.</summary>
    Depth,
    /// <summary>Surface normals: three channels L2-normalised over the channel dimension, trained with 1 − cosine.</summary>
    Normal,
}

/// <summary>The datasets of the MTAN paper, which fix the class count and the task list.</summary>
public enum MtanDataset
{
    /// <summary>NYUv2: 13 classes; semantic, depth and normals.</summary>
    NyuV2,
    /// <summary>CityScapes: 7 classes; semantic and (inverse) depth.</summary>
    CityScapes,
}

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
