namespace Astmt.Models.Data.Datasets;

/// <summary>Which ASTMT benchmark an .npy tree holds.</summary>
public enum AstmtBenchmark
{
    /// <summary>PASCAL-Context: edge, semseg (21), human_parts (7), normals, sal.</summary>
    PascalContext,
    /// <summary>NYUD: edge, semseg (41, background 0 included), normals, depth.</summary>
    Nyud,
}

/// <summary>
/// The ASTMT datasets in our documented pre-processed layout (Models/Data/README.md):
/// <c>{root}/{split}/{image,edge,semseg,human_parts,normals,sal,depth}/{i}.npy</c>. Task names and order follow the reference
/// (PASCAL: edge=0, semseg=1, human_parts=2, normals=3, sal=4; NYUD: edge=0, semseg=1, normals=2, depth=3), so the
/// discriminator's task indices are the positions in <see cref="TasksFor"/>.
/// </summary>
public static class AstmtNpyDataset
{
    /// <summary>The ignore label of ASTMT's label maps.</summary>
    public const long IgnoreLabel = 255;

    /// <summary>The tasks of a benchmark, in the reference's order.</summary>
    public static IReadOnlyList<TaskSpec> TasksFor(AstmtBenchmark benchmark) => benchmark switch
    {
        AstmtBenchmark.PascalContext =>
        [
            TaskSpec.Dense("edge", TaskKind.Edge),
            TaskSpec.Labels("semseg", TaskKind.Semantic, 21, IgnoreLabel),
            TaskSpec.Labels("human_parts", TaskKind.HumanParts, 7, IgnoreLabel),
            TaskSpec.Dense("normals", TaskKind.Normal),
            TaskSpec.Dense("sal", TaskKind.Saliency),
        ],
        _ =>
        [
            TaskSpec.Dense("edge", TaskKind.Edge),
            TaskSpec.Labels("semseg", TaskKind.Semantic, 41, IgnoreLabel),
            TaskSpec.Dense("normals", TaskKind.Normal),
            TaskSpec.Dense("depth", TaskKind.Depth),
        ],
    };

    /// <summary>Opens <c>{root}/{split}</c>; images are stored as RGB in [0,255] and fed unnormalised, as in the reference.</summary>
    public static NpyFolderDataset Open(string root, string split, AstmtBenchmark benchmark)
    {
        var tasks = TasksFor(benchmark);
        string name = benchmark == AstmtBenchmark.PascalContext ? "pascal-context" : "nyud";
        return new($"{name}/{split}", Path.Combine(root, split), tasks.Select(t => new NpyTaskFolder(t.Name, t)).ToArray());
    }
}
