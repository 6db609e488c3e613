namespace Astmt.Models.Data;

/// <summary>
/// One task of a multi-task dataset: its name (as the models and losses use it, e.g. "semantic", "depth", "normal", or
/// ASTMT's "edge", "semseg", "human_parts", "normals", "sal", "depth"), its kind, the number of target channels and, for
/// label maps, the number of classes and the label that marks ignored pixels.
/// </summary>
/// <param name="Name">Task name.</param>
/// <param name="Kind">What the target means.</param>
/// <param name="Channels">Target channels: 1 for label maps, depth, edges and saliency; 3 for normals.</param>
/// <param name="ClassCount">Number of classes for label maps (0 otherwise).</param>
/// <param name="IgnoreLabel">Label of ignored pixels for label maps (-1 in MTAN, 255 in ASTMT).</param>
public sealed record TaskSpec(string Name, TaskKind Kind, int Channels, int ClassCount = 0, long IgnoreLabel = -1)
{
    /// <summary>A label-map task.</summary>
    public static TaskSpec Labels(string name, TaskKind kind, int classCount, long ignoreLabel) => new(name, kind, 1, classCount, ignoreLabel);

    /// <summary>A dense float task.</summary>
    public static TaskSpec Dense(string name, TaskKind kind) => new(name, kind, kind == TaskKind.Normal ? 3 : 1);
}
