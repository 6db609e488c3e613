using Astmt.Engine;
using Astmt.Models.Astmt;
using Astmt.Models.Data;
using Astmt.Models.Data.Augmentation;
using Astmt.Models.Data.Datasets;
using Astmt.Models.Data.Npy;
using Astmt.Models.Synthetic;
using Astmt.Train.Config;

namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>
/// The training and evaluation splits of an ASTMT run at the configured size: the synthetic scenes with all six tasks (rendered
/// from the seed; evaluation from another scene stream), or PASCAL-Context / NYUD in the documented .npy layout
/// (Models/Data/README.md), resized to the configured size as the reference's FixedResize does. Batches come out as the
/// reference's losses expect them: the image [B,3,H,W] in [0,255], and per task a float ground truth [B,C,H,W] where 255 marks
/// void (labels' 255, depth 0 and zero normals all become 255).
/// </summary>
/// <remarks>Opening the folders is deferred to the first use, so <c>info</c> works without <c>--data</c>.</remarks>
public sealed class AstmtDataSource
{
    private const long CacheBudgetBytes = 1L << 30;
    /// <summary>Added to the run's seed for the evaluation scenes, so they are never training scenes.</summary>
    private const ulong EvalSeedOffset = 0x5EED_0002UL;

    private readonly RunConfig _config;
    private readonly AstmtOptions _options;
    private readonly Lazy<(SampleCache Train, SampleCache Eval)> _splits;
    private readonly AstmtFlipScaleRotate? _augmentation;

    /// <summary>Describes the splits of <paramref name="config"/>; the folders are opened on first use.</summary>
    public AstmtDataSource(RunConfig config, AstmtOptions options)
    {
        _config = config;
        _options = options;
        _splits = new Lazy<(SampleCache, SampleCache)>(Open);
        _augmentation = options.Augment ? new AstmtFlipScaleRotate { IgnoreBorderLabels = false } : null;
        Description = config.Dataset == "synthetic"
            ? $"synthetic scenes (all six tasks), {config.Height}x{config.Width}, rendered from seed {config.Seed}"
            : $"{config.Dataset} from {(config.Data == null ? "(no --data given)" : Path.GetFullPath(config.Data))}, resized to {config.Height}x{config.Width}";
        if (options.Augment) Description += ", flip/rotate/scale augmentation";
    }

    /// <summary>One line saying where the data comes from.</summary>
    public string Description { get; }

    /// <summary>Training samples.</summary>
    public int TrainCount => _splits.Value.Train.Dataset.Count;

    /// <summary>Evaluation samples.</summary>
    public int EvalCount => _splits.Value.Eval.Dataset.Count;

    /// <summary>True when the training batches are augmented.</summary>
    public bool Augmented => _augmentation != null;

    /// <summary>Collates training samples; <paramref name="augmentSeeds"/> (one per sample, or null) seed the augmentation.</summary>
    public AstmtBatch TrainBatch(int[] indices, ulong[]? augmentSeeds) => Collate(_splits.Value.Train, indices, augmentSeeds);

    /// <summary>Collates evaluation samples (never augmented).</summary>
    public AstmtBatch EvalBatch(int[] indices) => Collate(_splits.Value.Eval, indices, null);

    private (SampleCache, SampleCache) Open()
    {
        IMultiTaskDataset train, eval;
        if (_config.Dataset == "synthetic")
        {
            train = new SyntheticSceneDataset(_options.TrainCount, _config.Height, _config.Width, (ulong)_config.Seed, SyntheticTaskSet.Astmt);
            eval = new SyntheticSceneDataset(_options.EvalCount, _config.Height, _config.Width, unchecked((ulong)_config.Seed + EvalSeedOffset), SyntheticTaskSet.Astmt);
        }
        else
        {
            string root = _config.Data ?? throw new ConfigurationException($"--data: dataset '{_config.Dataset}' needs its folder; pass --data DIR.");
            var benchmark = _config.Dataset == "nyud" ? AstmtBenchmark.Nyud : AstmtBenchmark.PascalContext;
            string tasks = string.Join(",", AstmtNpyDataset.TasksFor(benchmark).Select(t => t.Name));
            try
            {
                train = AstmtNpyDataset.Open(root, "train", benchmark);
                eval = AstmtNpyDataset.Open(root, "val", benchmark);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or NpyFormatException or UnauthorizedAccessException)
            {
                throw new ConfigurationException($"--data: '{root}' is not a {_config.Dataset} folder: {e.Message} " +
                    $"Expected the layout {{train,val}}/{{image,{tasks}}}/{{i}}.npy (Models/Data/README.md; Tools/data/convert_astmt.py writes it).", e);
            }
            if (train.Height != _config.Height || train.Width != _config.Width) train = new ResizedDataset(train, _config.Height, _config.Width);
            if (eval.Height != _config.Height || eval.Width != _config.Width) eval = new ResizedDataset(eval, _config.Height, _config.Width);
        }
        foreach (var task in _options.Network.Tasks)
            if (!train.Tasks.Any(t => t.Name == task.Name))
                throw new ConfigurationException($"--{AstmtOptions.TasksName}: the {_config.Dataset} data has no '{task.Name}' targets; it has {string.Join(", ", train.Tasks.Select(t => t.Name))}.");
        long bytes = SampleCache.BytesPerSample(train) * ((long)train.Count + eval.Count);
        bool keep = bytes <= CacheBudgetBytes;
        return (new SampleCache(train, keep), new SampleCache(eval, keep));
    }

    private AstmtBatch Collate(SampleCache store, int[] indices, ulong[]? augmentSeeds)
    {
        var ds = store.Dataset;
        int b = indices.Length, h = ds.Height, w = ds.Width, plane = h * w;
        foreach (int i in indices)
            if ((uint)i >= (uint)ds.Count) throw new ArgumentOutOfRangeException(nameof(indices), $"{ds.Name}: sample {i} outside [0, {ds.Count}).");
        var samples = new MultiTaskSample[b];
        // Rendering, reading and augmenting run on both cores; the copies into the batch are cheap and sequential.
        Parallel.For(0, b, new ParallelOptions { MaxDegreeOfParallelism = Engine.Cpu.Parallelism.Threads }, i =>
        {
            var sample = store.Get(indices[i]);
            if (_augmentation != null && augmentSeeds != null)
            {
                sample = SampleCache.Copy(sample);
                var rng = new DeterministicRandom(augmentSeeds[i]);
                _augmentation.Apply(sample, ref rng);
            }
            samples[i] = sample;
        });

        var images = new float[b * 3 * plane];
        for (int i = 0; i < b; i++) samples[i].Image.AsSpan(0, 3 * plane).CopyTo(images.AsSpan(i * 3 * plane));
        var truths = new Dictionary<string, Tensor>();
        foreach (var task in _options.Network.Tasks)
        {
            int t = samples[0].TaskIndex(task.Name);
            var spec = ds.Tasks[t];
            int c = task.Kind == AstmtTaskKind.Normals ? 3 : 1;
            var values = new float[b * c * plane];
            for (int i = 0; i < b; i++) Fill(spec, samples[i], t, values.AsSpan(i * c * plane, c * plane), plane);
            truths[task.Name] = Tensor.FromArray(values, b, c, h, w);
        }
        return new AstmtBatch(Tensor.FromArray(images, b, 3, h, w), truths, samples);
    }

    /// <summary>Writes one sample's target of task <paramref name="t"/> in the losses' convention (C×H×W, 255 = void).</summary>
    private static void Fill(TaskSpec spec, MultiTaskSample sample, int t, Span<float> into, int plane)
    {
        const float Void = 255f;
        switch (spec.Kind)
        {
            case TaskKind.Semantic or TaskKind.HumanParts:
                var labels = sample.Labels[t];
                for (int p = 0; p < plane; p++)
                {
                    long v = labels[p];
                    into[p] = v < 0 || v >= spec.ClassCount ? Void : v;
                }
                break;
            case TaskKind.Depth:
                var depth = sample.Values[t];
                for (int p = 0; p < plane; p++) into[p] = depth[p] > 0 ? depth[p] : Void;
                break;
            case TaskKind.Normal:
                var n = sample.Values[t];
                for (int p = 0; p < plane; p++)
                {
                    float x = n[p], y = n[plane + p], z = n[2 * plane + p];
                    bool valid = x * x + y * y + z * z > 1e-12f;
                    into[p] = valid ? x : Void;
                    into[plane + p] = valid ? y : Void;
                    into[2 * plane + p] = valid ? z : Void;
                }
                break;
            default:
                sample.Values[t].AsSpan(0, plane).CopyTo(into);
                break;
        }
    }
}

/// <summary>A collated ASTMT batch.</summary>
/// <param name="Images">RGB in [0,255], [B,3,H,W].</param>
/// <param name="Truths">Per task, the ground truth [B,C,H,W] with 255 marking void.</param>
/// <param name="Samples">The samples it was built from (for metrics that read the dataset's own conventions).</param>
public sealed record AstmtBatch(Tensor Images, IReadOnlyDictionary<string, Tensor> Truths, IReadOnlyList<MultiTaskSample> Samples) : IDisposable
{
    /// <summary>Batch size.</summary>
    public int Size => Images.Shape[0];

    /// <summary>True when the task's ground truth has no labelled pixel in this batch (the reference then skips the task).</summary>
    public bool IsAllVoid(string task)
    {
        foreach (float v in Truths[task].Span<float>()) if (v != 255f) return false;
        return true;
    }

    /// <summary>Returns the tensors to the pool.</summary>
    public void Dispose()
    {
        Images.Dispose();
        foreach (var t in Truths.Values) t.Dispose();
    }
}
