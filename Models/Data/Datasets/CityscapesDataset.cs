namespace Astmt.Models.Data.Datasets;

/// <summary>
/// CityScapes as pre-processed by the MTAN authors: <c>{root}/{train,val}/image/{i}.npy</c> (H×W×3 in [0,1]),
/// <c>label_2|label_7|label_19/{i}.npy</c> (H×W, -1 = invalid) and <c>depth/{i}.npy</c> (H×W×1 inverse depth, 0 = invalid).
/// Tasks are "semantic" and "depth". The paper used 7 classes.
/// </summary>
public static class CityscapesDataset
{
    /// <summary>The tasks for a given class count (2, 7 or 19).</summary>
    public static IReadOnlyList<TaskSpec> TasksFor(int classCount) =>
    [
        TaskSpec.Labels("semantic", TaskKind.Semantic, CheckClasses(classCount), -1),
        TaskSpec.Dense("depth", TaskKind.Depth),
    ];

    /// <summary>Opens <c>{root}/{split}</c> reading labels from <c>label_{classCount}</c>.</summary>
    public static NpyFolderDataset Open(string root, string split, int classCount = 7)
    {
        var tasks = TasksFor(classCount);
        return new($"cityscapes{classCount}/{split}", Path.Combine(root, split),
            [new($"label_{classCount}", tasks[0]), new("depth", tasks[1])]);
    }

    private static int CheckClasses(int classCount) => classCount is 2 or 7 or 19
        ? classCount
        : throw new ArgumentOutOfRangeException(nameof(classCount), $"CityScapes labels come in 2, 7 or 19 classes (label_2, label_7, label_19), not {classCount}.");
}
