namespace Astmt.Models.Data.Datasets;

/// <summary>
/// NYUv2 as pre-processed by the MTAN authors: <c>{root}/{train,val}/{image,label,depth,normal}/{i}.npy</c>, HWC arrays,
/// image RGB in [0,1], 13-class labels with -1 = void, depth in metres with 0 = invalid, unit normals with (0,0,0) = invalid.
/// Tasks are named "semantic", "depth" and "normal" in that order (the reference's task order 0, 1, 2).
/// </summary>
public static class NyuV2Dataset
{
    /// <summary>Number of NYUv2 semantic classes.</summary>
    public const int ClassCount = 13;

    /// <summary>The three MTAN tasks.</summary>
    public static IReadOnlyList<TaskSpec> Tasks { get; } =
    [
        TaskSpec.Labels("semantic", TaskKind.Semantic, ClassCount, -1),
        TaskSpec.Dense("depth", TaskKind.Depth),
        TaskSpec.Dense("normal", TaskKind.Normal),
    ];

    /// <summary>Opens <c>{root}/{split}</c> (split is "train" or "val").</summary>
    public static NpyFolderDataset Open(string root, string split) =>
        new($"nyuv2/{split}", Path.Combine(root, split),
            [new("label", Tasks[0]), new("depth", Tasks[1]), new("normal", Tasks[2])]);
}
