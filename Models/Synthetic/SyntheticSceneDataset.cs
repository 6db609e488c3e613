using Astmt.Models.Data;

namespace Astmt.Models.Synthetic;

/// <summary>
/// The built-in default dataset: procedural rooms rendered on the fly at any resolution (default 96×128, NYUv2's 3:4). Sample
/// i of seed s is always the same scene; different seeds give different, independent streams (use one seed for training and
/// another for validation).
/// </summary>
public sealed class SyntheticSceneDataset : IMultiTaskDataset
{
    private readonly ThreadLocal<SceneRendering> _rendering;
    private readonly float _imageScale;

    /// <summary>Creates a dataset of <paramref name="count"/> scenes.</summary>
    public SyntheticSceneDataset(int count, int height = 96, int width = 128, ulong seed = 0, SyntheticTaskSet taskSet = SyntheticTaskSet.Mtan)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"The synthetic dataset needs at least one sample, got {count}.");
        if (height < 2 || width < 2) throw new ArgumentOutOfRangeException(nameof(height), $"Synthetic scenes need at least 2×2 pixels, got {height}×{width}.");
        Count = count;
        Height = height;
        Width = width;
        Seed = seed;
        TaskSet = taskSet;
        Tasks = TasksFor(taskSet);
        _imageScale = taskSet == SyntheticTaskSet.Astmt ? 255f : 1f;
        _rendering = new ThreadLocal<SceneRendering>(() => new SceneRendering(height, width));
    }

    /// <summary>The tasks of a task set, in order.</summary>
    public static IReadOnlyList<TaskSpec> TasksFor(SyntheticTaskSet taskSet) => taskSet == SyntheticTaskSet.Mtan
        ?
        [
            TaskSpec.Labels("semantic", TaskKind.Semantic, SceneClasses.Count, -1),
            TaskSpec.Dense("depth", TaskKind.Depth),
            TaskSpec.Dense("normal", TaskKind.Normal),
        ]
        :
        [
            TaskSpec.Dense("edge", TaskKind.Edge),
            TaskSpec.Labels("semseg", TaskKind.Semantic, SceneClasses.Count, 255),
            TaskSpec.Labels("human_parts", TaskKind.HumanParts, SceneClasses.PartCount, 255),
            TaskSpec.Dense("normals", TaskKind.Normal),
            TaskSpec.Dense("sal", TaskKind.Saliency),
            TaskSpec.Dense("depth", TaskKind.Depth),
        ];

    /// <summary>Seed of the scene stream.</summary>
    public ulong Seed { get; }

    /// <summary>The task set.</summary>
    public SyntheticTaskSet TaskSet { get; }

    /// <inheritdoc />
    public string Name => $"synthetic(seed {Seed})";

    /// <inheritdoc />
    public int Count { get; }

    /// <inheritdoc />
    public int Height { get; }

    /// <inheritdoc />
    public int Width { get; }

    /// <inheritdoc />
    public IReadOnlyList<TaskSpec> Tasks { get; }

    /// <summary>Renders sample <paramref name="index"/> with every map (for tools and tests).</summary>
    public SceneRendering Render(int index)
    {
        var r = new SceneRendering(Height, Width);
        SceneRenderer.Render(SceneGenerator.Generate(Seed, index), r);
        return r;
    }

    /// <inheritdoc />
    public void Load(int index, MultiTaskSample into)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), $"{Name}: index {index} outside [0, {Count}).");
        if (into.Height != Height || into.Width != Width)
            throw new ArgumentException($"{Name}: the sample buffer is {into.Height}×{into.Width}, expected {Height}×{Width}.");
        var r = _rendering.Value!;
        SceneRenderer.Render(SceneGenerator.Generate(Seed, index), r);
        into.Index = index;
        if (_imageScale == 1f) r.Image.CopyTo(into.Image, 0);
        else for (int i = 0; i < r.Image.Length; i++) into.Image[i] = r.Image[i] * _imageScale;
        for (int t = 0; t < into.Tasks.Count; t++)
        {
            var task = into.Tasks[t];
            switch (task.Kind)
            {
                case TaskKind.Semantic: r.Semantic.CopyTo(into.Labels[t], 0); break;
                case TaskKind.HumanParts: r.Parts.CopyTo(into.Labels[t], 0); break;
                case TaskKind.Depth: r.Depth.CopyTo(into.Values[t], 0); break;
                case TaskKind.Normal: r.Normal.CopyTo(into.Values[t], 0); break;
                case TaskKind.Edge: r.Edges.CopyTo(into.Values[t], 0); break;
                case TaskKind.Saliency: r.Saliency.CopyTo(into.Values[t], 0); break;
            }
        }
    }
}
