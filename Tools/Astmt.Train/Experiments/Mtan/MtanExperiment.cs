using System.Diagnostics;
using System.Globalization;
using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;
using Astmt.Engine.Optim;
using Astmt.Models.Losses;
using Astmt.Models.Mtan;
using Astmt.Models.Weighting;
using Astmt.Train.Config;
using Astmt.Train.Training;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>
/// An MTAN-family network trained as the reference's <c>model_fit</c> does (spec §2–3): per batch, the task losses (NLL with
/// ignore −1, masked L1 depth, 1 − cosine normals) are combined by the weighting strategy (equal, DWA or uncertainty) and
/// minimised with Adam; a StepLR schedule steps once per epoch; evaluation runs the network in eval mode.
/// </summary>
/// <remarks>
/// Exact resume: the checkpoint holds the weights and BN statistics (<c>model.</c>), Adam's moments, step counts and the
/// schedule (<c>optim.</c>), the augmentation generator (<c>rng.</c>), DWA's loss history and its sums for the epoch in
/// progress, an owned log-variance (<c>weighting.</c>) and the train-metric accumulators (<c>metrics.</c>). The sample order
/// and the loader position (epoch, step) are the trainer's: it derives the order from the seed and the epoch.
/// </remarks>
public sealed class MtanExperiment : IExperiment
{
    private readonly RunConfig _config;
    private readonly MtanOptions _options;
    private readonly MtanDataSource _data;
    private readonly MultiTaskNetwork _network;
    private readonly MtanTask[] _tasks;
    private readonly string[] _taskNames;
    private readonly ITaskWeighting _weighting;
    private readonly Adam _optimizer;
    private readonly StepLR _schedule;
    private readonly Generator _augment;
    private readonly MtanTrainMetrics _trainMetrics;
    private readonly MtanStepProfile _profile = new();
    private readonly double[] _openBatchSums;
    private int _openBatches;
    private int _weightingEpoch = -1;
    private string? _flops;
    private readonly MtanTrainPrefetch? _prefetch;
    private readonly Device _device;

    /// <summary>Builds the network, data, weighting and optimizer of <paramref name="config"/>. Throws
    /// <see cref="ConfigurationException"/> for a size the network cannot take or a dataset it cannot use.</summary>
    public MtanExperiment(RunConfig config) : this(config, prefetch: true, MtanDataSource.CacheBudgetBytes) { }

    /// <summary>As the public constructor; <paramref name="prefetch"/> switches the background loading of the next training
    /// batch and <paramref name="cacheBudgetBytes"/> limits the in-memory sample cache (tests compare both ways).</summary>
    internal MtanExperiment(RunConfig config, bool prefetch, long cacheBudgetBytes)
    {
        _config = config;
        _options = MtanOptions.From(config);
        if (config.Height % 32 != 0 || config.Width % 32 != 0)
            throw new ConfigurationException($"--height/--width: {config.Height}x{config.Width} cannot be taken by '{config.Model}'; " +
                "expected multiples of 32 (SegNet pools five times by 2 and unpools back), for example 64x64 or 288x384.");
        // Device (--device): parameters, buffers, batches and Adam's state live there; metrics and checkpoints use host copies.
        _device = TrainingDevice.Initialize(config.Device);
        bool singleTask = config.Model is "segnet-single" or "stan";
        if (singleTask && config.Dataset == "cityscapes" && _options.SingleTask == MtanTask.Normal)
            throw new ConfigurationException("--task: CityScapes has no normals; expected semantic or depth.");

        _data = new MtanDataSource(config, _options, cacheBudgetBytes);
        _prefetch = prefetch ? new MtanTrainPrefetch(_data) : null;
        _network = MtanModels.Create(config.Model, new MtanModelOptions
        {
            Dataset = _data.Dataset,
            Width = _options.Width,
            SingleTask = _options.SingleTask,
            Seed = unchecked((ulong)config.Seed),
        });
        _network.To(_device);
        _tasks = [.. _network.Tasks];
        _taskNames = _tasks.Select(MtanTasks.Name).ToArray();
        Tasks = _tasks.Select(t => MtanMetricNames.Describe(t, _network.ClassCount)).ToArray();

        _weighting = TaskWeightings.Create(config.Weighting, _tasks.Length, _network.LogSigma, _options.Temperature);
        var named = _network.NamedParameters().Select(p => new KeyValuePair<string, Tensor>(p.Name, p.Parameter)).ToList();
        foreach (var p in _weighting.Parameters) named.Add(new("weighting.logsigma", p));
        // Adam as the reference: betas (0.9, 0.999), eps 1e-8, no weight decay; the rate comes from --lr.
        _optimizer = new Adam([new ParamGroup(named)], config.LearningRate);
        _schedule = new StepLR(_optimizer, _options.LrStepEpochs, _options.LrGammaValue);
        // Its own stream (seed mixed with a constant), so augmentation never shares numbers with the initialisation.
        _augment = new Generator(unchecked((ulong)config.Seed * 0x9E3779B97F4A7C15UL + 0xA06));
        _trainMetrics = new MtanTrainMetrics(_tasks, _network.ClassCount);
        _openBatchSums = new double[_tasks.Length];
    }

    /// <inheritdoc />
    public IReadOnlyList<TaskInfo> Tasks { get; }

    /// <inheritdoc />
    public int TrainCount => _data.TrainCount;

    /// <inheritdoc />
    public int EvalCount => _data.EvalCount;

    /// <summary>The network (for tests and tools).</summary>
    public MultiTaskNetwork Network => _network;

    /// <summary>Where the time of the training steps went so far.</summary>
    public MtanStepProfile Profile => _profile;

    /// <inheritdoc />
    public IReadOnlyList<KeyValuePair<string, string>> Describe()
    {
        var ci = CultureInfo.InvariantCulture;
        _flops ??= MtanFlopCounter.Describe(_network, _config.Height, _config.Width);
        var facts = new List<KeyValuePair<string, string>>
        {
            new("network", $"{_network.TypeName} ({_config.Model}), width x{_options.Width.ToString(ci)}, {_network.ClassCount} classes"),
            new("parameters", _network.ParameterCount().ToString("N0", ci)),
            new($"FLOPs per image at {_config.Height}x{_config.Width}", _flops),
            new("data", _data.Description + (_options.UseAugmentation ? ", scale-crop-flip augmentation" : "")),
            new("optimizer", string.Create(ci, $"Adam(lr {_config.LearningRate}, betas 0.9/0.999, eps 1e-8), StepLR(every {_options.LrStepEpochs} epochs x{_options.LrGammaValue})")),
            new("weighting", _config.Weighting == "dwa" ? string.Create(ci, $"dwa (T = {_options.Temperature})") : _config.Weighting),
            new("eval metrics", MetricNote),
        };
        if (_profile.Steps > 0) facts.Add(new("time per training step", _profile.Summary()));
        return facts;
    }

    private string MetricNote => (_options.Averaging == Models.Metrics.MetricAveraging.WholeSplit
        ? "whole-split statistics (every valid pixel pooled, true median)"
        : "per-batch means as the reference (median = mean of batch medians)") +
        "; mIoU over classes present in truth or prediction, from the split's confusion matrix";

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double>? TaskWeights
    {
        get
        {
            if (_config.Weighting == "equal") return null;
            var w = _weighting.Weights;
            var result = new Dictionary<string, double>();
            for (int t = 0; t < _tasks.Length; t++) result[_taskNames[t]] = w[t];
            return result;
        }
    }

    // ---------------------------------------------------------------- training

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(TrainBatch batch)
    {
        if (batch.Epoch != _weightingEpoch)
        {
            _weighting.BeginEpoch(batch.Epoch);
            _weightingEpoch = batch.Epoch;
            Array.Clear(_openBatchSums);
            _openBatches = 0;
        }
        var clock = Stopwatch.StartNew();
        ulong[]? seeds = null;
        if (_data.Augmentation != null)
        {
            seeds = new ulong[batch.SampleIndices.Length];
            for (int i = 0; i < seeds.Length; i++) seeds[i] = _augment.NextUInt64();
        }
        using var data = _prefetch?.Take(batch.SampleIndices, seeds) ?? _data.TrainBatch(batch.SampleIndices, seeds);
        if (_prefetch != null) StartPrefetch(batch);
        double loading = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        _network.Train();
        var images = TrainingDevice.On(data.Images, _device);
        var output = _network.Forward(images);
        var losses = new Tensor[_tasks.Length];
        var values = new double[_tasks.Length];
        var deviceTruths = new List<Tensor>();
        for (int t = 0; t < _tasks.Length; t++)
        {
            var truth = data.Target(_taskNames[t]);
            if (!_device.IsCpu) deviceTruths.Add(truth = truth.To(_device));
            losses[t] = MtanLosses.For(_tasks[t], output.Predictions[t], truth);
            values[t] = losses[t].Item();
        }
        double forward = clock.Elapsed.TotalMilliseconds;

        // Train metrics read the predictions now: backward releases the step's tensors.
        clock.Restart();
        for (int t = 0; t < _tasks.Length; t++)
        {
            var prediction = TrainingDevice.OnHost(output.Predictions[t]);
            _trainMetrics.Add(t, prediction, data.Target(_taskNames[t]));
            if (!ReferenceEquals(prediction, output.Predictions[t])) prediction.Dispose();
        }
        double metrics = clock.Elapsed.TotalMilliseconds;

        clock.Restart();
        _optimizer.ZeroGrad();
        _weighting.Backward(losses, []);
        double backward = clock.Elapsed.TotalMilliseconds;
        if (!ReferenceEquals(images, data.Images)) images.Dispose();
        foreach (var truth in deviceTruths) truth.Dispose();

        _weighting.EndBatch(values);
        for (int t = 0; t < values.Length; t++) _openBatchSums[t] += values[t];
        _openBatches++;
        _profile.AddStep(batch.SampleIndices.Length, loading, forward, metrics, backward);

        var result = new Dictionary<string, double>();
        for (int t = 0; t < _tasks.Length; t++) result[_taskNames[t]] = values[t];
        return result;
    }

    /// <summary>Number of training batches taken from the background loader (the rest were loaded in the step).</summary>
    internal long PrefetchHits => _prefetch?.Hits ?? 0;

    /// <summary>Starts loading the batch that follows <paramref name="batch"/> in the trainer's order (<see
    /// cref="Training.Trainer.EpochOrder"/>), with the augmentation seeds the augmentation generator will give it, read from a
    /// copy so the generator itself does not move. A guess that turns out wrong costs only the wasted load.</summary>
    private void StartPrefetch(TrainBatch batch)
    {
        int n = _data.TrainCount, bs = _config.BatchSize, steps = (n + bs - 1) / bs;
        int epoch = batch.Epoch, step = batch.StepInEpoch + 1;
        if (step >= steps) { epoch++; step = 0; }
        if (epoch >= _config.Epochs) return;
        int start = step * bs, count = Math.Min(bs, n - start);
        int[] indices = Training.Trainer.EpochOrder(_config.Seed, epoch, n)[start..(start + count)];
        ulong[]? seeds = null;
        if (_data.Augmentation != null)
        {
            var peek = new Generator();
            peek.SetState(_augment.GetState());
            seeds = new ulong[count];
            for (int i = 0; i < count; i++) seeds[i] = peek.NextUInt64();
        }
        _prefetch!.Start(indices, seeds);
    }

    /// <inheritdoc />
    public void ApplyUpdate()
    {
        var clock = Stopwatch.StartNew();
        _optimizer.Step();
        _profile.AddOptimizer(clock.Elapsed.TotalMilliseconds);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> TakeTrainMetrics() => _trainMetrics.Take();

    /// <inheritdoc />
    public void EndEpoch(EpochEnd epochEnd)
    {
        if (_weightingEpoch == epochEnd.Epoch) _weighting.EndEpoch();
        _weightingEpoch = -1;
        Array.Clear(_openBatchSums);
        _openBatches = 0;
        _schedule.Step();
    }

    // ---------------------------------------------------------------- evaluation

    /// <inheritdoc />
    public IEvaluation BeginEvaluation() => new MtanEvaluation(this);

    internal MtanDataSource Data => _data;
    internal IReadOnlyList<MtanTask> NetworkTasks => _tasks;
    internal IReadOnlyList<string> TaskNames => _taskNames;
    internal MtanOptions Options => _options;
    internal string Note => MetricNote;

    /// <summary>The network's predictions for a batch in eval mode without a graph; the caller disposes them.</summary>
    internal Tensor[] PredictEval(Tensor images)
    {
        _network.Eval();
        using (Autograd.NoGrad())
        {
            if (_device.IsCpu) return [.. _network.Forward(images).Predictions];
            using var onDevice = images.To(_device);
            var predictions = _network.Forward(onDevice).Predictions;
            var host = predictions.Select(p => p.To(Device.Cpu)).ToArray();
            foreach (var p in predictions) p.Dispose();
            return host;
        }
    }

    /// <inheritdoc />
    public PredictionSample Predict(int evalIndex) => MtanPredictions.Sample(this, evalIndex);

    // ---------------------------------------------------------------- state

    /// <inheritdoc />
    public ExperimentState CaptureState()
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, t) in _network.StateDict()) tensors["model." + name] = t.Device.IsCpu ? t.Detach() : t.To(Device.Cpu);
        foreach (var (name, t) in _optimizer.StateDict("optim.")) tensors[name] = t;
        foreach (var (name, t) in _schedule.StateDict("optim.schedule.")) tensors[name] = t;
        foreach (var p in _weighting.Parameters) tensors["weighting.logsigma"] = p.Device.IsCpu ? p.Detach() : p.To(Device.Cpu);
        tensors["rng.augment"] = GeneratorState.Save(_augment);
        tensors["metrics.train"] = Tensor.FromArray((double[])_trainMetrics.State.Clone(), _trainMetrics.State.Length);
        var metadata = new Dictionary<string, string>
        {
            ["mtan.model"] = _config.Model,
            ["mtan.width_multiplier"] = _options.Width.ToString("R", CultureInfo.InvariantCulture),
            ["weighting.name"] = _weighting.Name,
            ["weighting.epoch"] = _weightingEpoch.ToString(CultureInfo.InvariantCulture),
            ["weighting.open_batches"] = _openBatches.ToString(CultureInfo.InvariantCulture),
        };
        tensors["weighting.open_batch_sums"] = Tensor.FromArray((double[])_openBatchSums.Clone(), _openBatchSums.Length);
        if (_weighting is DynamicWeightAverage dwa && dwa.EpochMeans.Count > 0)
        {
            var history = dwa.EpochMeans.SelectMany(m => m).ToArray();
            tensors["weighting.dwa_history"] = Tensor.FromArray(history, dwa.EpochMeans.Count, _tasks.Length);
        }
        return new ExperimentState(tensors, metadata);
    }

    /// <inheritdoc />
    public void LoadState(ExperimentState state, bool weightsOnly)
    {
        MtanStateLoader.LoadWeights(_network, state, _config.Model);
        if (weightsOnly) return;
        try
        {
            _optimizer.LoadStateDict(Filter(state, "optim.", exclude: "optim.schedule."), "optim.");
            _schedule.LoadStateDict(state.Tensors, "optim.schedule.");
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new ConfigurationException($"the checkpoint's optimizer state does not fit this run: {e.Message}", e);
        }
        foreach (var p in _weighting.Parameters) MtanStateLoader.CopyInto(p, MtanStateLoader.Require(state, "weighting.logsigma", p.Shape));
        if (!state.Tensors.TryGetValue("rng.augment", out var rng))
            throw new ConfigurationException("the checkpoint has no tensor 'rng.augment'; expected a checkpoint written by an MTAN 'train' run.");
        GeneratorState.Restore(_augment, rng, "rng.augment");
        _trainMetrics.Restore(MtanStateLoader.Require(state, "metrics.train", [_trainMetrics.State.Length]).ToDoubleArray());

        string savedWeighting = MtanStateLoader.Meta(state, "weighting.name");
        if (savedWeighting != _weighting.Name)
            throw new ConfigurationException($"the checkpoint was trained with weighting '{savedWeighting}'; this run uses '{_weighting.Name}'.");
        int epoch = int.Parse(MtanStateLoader.Meta(state, "weighting.epoch"), CultureInfo.InvariantCulture);
        int open = int.Parse(MtanStateLoader.Meta(state, "weighting.open_batches"), CultureInfo.InvariantCulture);
        var sums = MtanStateLoader.Require(state, "weighting.open_batch_sums", [_tasks.Length]).ToDoubleArray();
        if (_weighting is DynamicWeightAverage dwa)
        {
            var history = new List<IReadOnlyList<double>>();
            if (state.Tensors.TryGetValue("weighting.dwa_history", out var h))
            {
                var flat = h.ToDoubleArray();
                if (h.Rank != 2 || h.Shape[1] != _tasks.Length)
                    throw new ConfigurationException($"the checkpoint's 'weighting.dwa_history' is {h.Describe()}; expected [epochs, {_tasks.Length}].");
                for (int e = 0; e < h.Shape[0]; e++) history.Add(flat.AsSpan(e * _tasks.Length, _tasks.Length).ToArray());
            }
            dwa.RestoreHistory(history);
        }
        _weightingEpoch = -1;
        Array.Clear(_openBatchSums);
        _openBatches = 0;
        if (epoch >= 0 && open > 0)
        {
            // Replays the open epoch's sums into the strategy: the first batch carries the whole sum and the others add zero, so
            // the running sums, and therefore DWA's next weights, are bit-identical to an uninterrupted run.
            _weighting.BeginEpoch(epoch);
            _weighting.EndBatch(sums);
            var zeros = new double[_tasks.Length];
            for (int i = 1; i < open; i++) _weighting.EndBatch(zeros);
            _weightingEpoch = epoch;
            sums.CopyTo(_openBatchSums, 0);
            _openBatches = open;
        }
    }

    private static Dictionary<string, Tensor> Filter(ExperimentState state, string prefix, string exclude) =>
        state.Tensors.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal) && !p.Key.StartsWith(exclude, StringComparison.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value);

    /// <inheritdoc />
    public void Dispose()
    {
        _prefetch?.Dispose();
        GC.SuppressFinalize(this);
    }
}
