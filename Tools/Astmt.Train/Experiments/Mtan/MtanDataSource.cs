using Astmt.Engine;
using Astmt.Models.Data;
using Astmt.Models.Data.Augmentation;
using Astmt.Models.Data.Datasets;
using Astmt.Models.Data.Npy;
using Astmt.Models.Mtan;
using Astmt.Models.Synthetic;
using Astmt.Train.Config;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>
/// The training and evaluation splits of an MTAN run at the configured size: the synthetic scenes (rendered on the fly from the
/// seed, training and evaluation from different scene streams), or NYUv2/CityScapes in the reference's .npy layout (resized when
/// the files are not at the configured size). Samples are kept in memory once loaded while they fit in a budget, so small sets
/// (the default) are rendered or read once.
/// </summary>
public sealed class MtanDataSource
{
    internal const long CacheBudgetBytes = 1L << 30;
    /// <summary>Added to the run's seed for the evaluation scenes, so they are never training scenes.</summary>
    private const ulong EvalSeedOffset = 0x5EED_0001UL;

    private readonly SampleCache? _train, _eval;

    /// <summary>Opens the splits of <paramref name="config"/>'s dataset; a missing or malformed folder is a
    /// <see cref="ConfigurationException"/> naming the folder and the expected layout.</summary>
    public MtanDataSource(RunConfig config, MtanOptions options) : this(config, options, CacheBudgetBytes) { }

    /// <summary>As the public constructor, with the in-memory cache limited to <paramref name="cacheBudgetBytes"/> (0: every
    /// sample is read when used, as a dataset too big for memory is).</summary>
    internal MtanDataSource(RunConfig config, MtanOptions options, long cacheBudgetBytes)
    {
        Dataset = config.Dataset == "cityscapes" ? MtanDataset.CityScapes : MtanDataset.NyuV2;
        IMultiTaskDataset train, eval;
        switch (config.Dataset)
        {
            case "synthetic":
                train = new SyntheticSceneDataset(options.TrainCount, config.Height, config.Width, (ulong)config.Seed);
                eval = new SyntheticSceneDataset(options.EvalCount, config.Height, config.Width, unchecked((ulong)config.Seed + EvalSeedOffset));
                Description = $"synthetic scenes, {config.Height}x{config.Width}, rendered from seed {config.Seed}";
                break;
            case "nyuv2" or "cityscapes" when config.Data == null:
                // Only 'info' resolves a configuration without the folder: the network can be described, nothing loaded.
                Tasks = config.Dataset == "nyuv2" ? NyuV2Dataset.Tasks : CityscapesDataset.TasksFor(7);
                Description = $"{config.Dataset} (no --data folder given)";
                return;
            case "nyuv2" or "cityscapes":
                string root = config.Data ?? throw new ConfigurationException($"--data: dataset '{config.Dataset}' needs its folder.");
                (train, eval) = OpenFolder(config.Dataset, root);
                Description = $"{config.Dataset} from {Path.GetFullPath(root)}, {train.Height}x{train.Width}" +
                              (train.Height != config.Height || train.Width != config.Width ? $" resized to {config.Height}x{config.Width}" : "");
                if (train.Height != config.Height || train.Width != config.Width) train = new ResizedDataset(train, config.Height, config.Width);
                if (eval.Height != config.Height || eval.Width != config.Width) eval = new ResizedDataset(eval, config.Height, config.Width);
                break;
            default:
                throw new ConfigurationException($"--dataset: MTAN does not take '{config.Dataset}'; expected one of {string.Join(", ", MtanExperiments.Datasets)}.");
        }
        Tasks = train.Tasks;
        long bytesPerSample = SampleCache.BytesPerSample(train);
        bool cacheAll = bytesPerSample * ((long)train.Count + eval.Count) <= cacheBudgetBytes;
        _train = new SampleCache(train, cacheAll);
        _eval = new SampleCache(eval, cacheAll);
        Augmentation = options.UseAugmentation ? new MtanScaleCropFlip() : null;
    }

    /// <summary>Which class count and task list the networks are built for (the synthetic scenes use NYUv2's).</summary>
    public MtanDataset Dataset { get; }

    /// <summary>The data's tasks, in storage order.</summary>
    public IReadOnlyList<TaskSpec> Tasks { get; }

    /// <summary>One line saying where the data comes from.</summary>
    public string Description { get; }

    /// <summary>True when every sample is kept in memory after its first load.</summary>
    public bool CachesAll => _train?.Keeps ?? false;

    /// <summary>Training samples.</summary>
    public int TrainCount => _train?.Dataset.Count ?? 0;

    /// <summary>Evaluation samples.</summary>
    public int EvalCount => _eval?.Dataset.Count ?? 0;

    /// <summary>The training augmentation, or null.</summary>
    public ISampleAugmentation? Augmentation { get; }

    /// <summary>Collates training samples; <paramref name="augmentSeeds"/> (one per sample, or null) seed the augmentation.</summary>
    public MtanBatch TrainBatch(int[] indices, ulong[]? augmentSeeds) => Collate(_train ?? throw NoData(), indices, augmentSeeds);

    /// <summary>Collates evaluation samples (never augmented).</summary>
    public MtanBatch EvalBatch(int[] indices) => Collate(_eval ?? throw NoData(), indices, null);

    /// <summary>The evaluation sample <paramref name="index"/> (a cached instance: read, do not modify).</summary>
    public MultiTaskSample EvalSample(int index) => (_eval ?? throw NoData()).Get(index);

    private ConfigurationException NoData() => new($"--data: {Description}; expected the dataset folder.");

    private MtanBatch Collate(SampleCache cache, int[] indices, ulong[]? augmentSeeds)
    {
        var ds = cache.Dataset;
        int b = indices.Length, h = ds.Height, w = ds.Width, plane = h * w;
        foreach (int i in indices)
            if ((uint)i >= (uint)ds.Count) throw new ArgumentOutOfRangeException(nameof(indices), $"{ds.Name}: sample {i} outside [0, {ds.Count}).");
        // Loading (rendering, reading .npy, augmenting) runs on both cores; the copies into the batch are cheap and sequential.
        var samples = new MultiTaskSample[b];
        Parallel.For(0, b, i =>
        {
            MultiTaskSample sample = cache.Get(indices[i]);
            if (Augmentation != null && augmentSeeds != null)
            {
                sample = SampleCache.Copy(sample);
                var rng = new DeterministicRandom(augmentSeeds[i]);
                Augmentation.Apply(sample, ref rng);
            }
            samples[i] = sample;
        });
        var images = Tensor.Empty([b, 3, h, w]);
        var targets = new Tensor[Tasks.Count];
        var imageSpan = images.Span<float>();
        for (int i = 0; i < b; i++) samples[i].Image.AsSpan(0, 3 * plane).CopyTo(imageSpan.Slice(i * 3 * plane, 3 * plane));
        for (int t = 0; t < Tasks.Count; t++)
        {
            if (Tasks[t].Kind.IsLabelMap())
            {
                targets[t] = Tensor.Empty([b, h, w], DType.Int64);
                var span = targets[t].Span<long>();
                for (int i = 0; i < b; i++) samples[i].Labels[t].AsSpan(0, plane).CopyTo(span.Slice(i * plane, plane));
            }
            else
            {
                int c = Tasks[t].Channels, n = c * plane;
                targets[t] = Tensor.Empty([b, c, h, w]);
                var span = targets[t].Span<float>();
                for (int i = 0; i < b; i++) samples[i].Values[t].AsSpan(0, n).CopyTo(span.Slice(i * n, n));
            }
        }
        return new MtanBatch(images, Tasks, targets);
    }

    private static (IMultiTaskDataset Train, IMultiTaskDataset Eval) OpenFolder(string dataset, string root)
    {
        string layout = dataset == "nyuv2"
            ? "{train,val}/{image,label,depth,normal}/{i}.npy"
            : "{train,val}/{image,label_7,depth}/{i}.npy";
        try
        {
            return dataset == "nyuv2"
                ? (NyuV2Dataset.Open(root, "train"), NyuV2Dataset.Open(root, "val"))
                : (CityscapesDataset.Open(root, "train"), CityscapesDataset.Open(root, "val"));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or NpyFormatException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"--data: '{root}' is not a {dataset} folder: {e.Message} Expected the reference layout {layout}.", e);
        }
    }
}

/// <summary>A collated batch: images [B,3,H,W] and one target per data task (labels [B,H,W] int64, others [B,C,H,W]).</summary>
public sealed class MtanBatch(Tensor images, IReadOnlyList<TaskSpec> tasks, Tensor[] targets) : IDisposable
{
    /// <summary>Images [B,3,H,W].</summary>
    public Tensor Images { get; } = images;

    /// <summary>Batch size.</summary>
    public int Size => Images.Shape[0];

    /// <summary>The target of the data task named <paramref name="name"/>.</summary>
    public Tensor Target(string name)
    {
        for (int t = 0; t < tasks.Count; t++) if (tasks[t].Name == name) return targets[t];
        throw new KeyNotFoundException($"The data has no '{name}' target; it has {string.Join(", ", tasks.Select(x => x.Name))}.");
    }

    /// <summary>Returns the tensors to the pool.</summary>
    public void Dispose()
    {
        Images.Dispose();
        foreach (var t in targets) t.Dispose();
    }
}
