using System.Globalization;
using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;
using Astmt.Engine.Optim;
using Astmt.Models.Astmt;
using Astmt.Train.Config;
using Astmt.Train.Training;

namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>
/// ASTMT (Maninis et al., CVPR 2019) trained as the reference does (spec §2, §5, §7): for every batch and every task, the
/// single-tasking forward pass, the weighted task loss and, with <c>--adversarial</c>, the discriminator on the reversed,
/// normalised task gradient (double backprop); SGD 0.9 / 1e-4 with task-specific parameters at T× and the discriminator at 10×
/// the rate; one step per task (<c>--task-step per-task</c>, the default) or one step on the summed gradients.
/// </summary>
/// <remarks>
/// <para>Poly schedule: lr = base·(1 − p)^0.9 with p the fraction of training steps done, set before every batch. The reference
/// meant the same schedule (per epoch) but its ResNet experiments never applied it (spec §7.4); we apply it.</para>
/// <para>Gradient reversal: alpha = 2/(1 + exp(−10·p)) − 1 with the same p (the reference evaluates it once per epoch at
/// p = (epoch + 1)/epochs).</para>
/// <para>A NaN guard: per-task steps change the weights inside the batch, so the weights, buffers and optimizer state are
/// snapshotted first and put back when a loss is not finite; the trainer then checkpoints the last good state.</para>
/// <para>Device (<c>--device</c>): the weights, batch-norm statistics, momentum buffers and each batch live there; losses, metrics,
/// predictions and checkpoints use host copies, so a checkpoint written on one device resumes on any other.</para>
/// <para>Exact resume: the checkpoint holds the weights and batch-norm statistics (<c>model.</c>), the SGD momentum buffers
/// (<c>optim.</c>), the augmentation generator (<c>rng.</c>) and the discriminator statistics of the open epoch (<c>metrics.</c>);
/// the learning rate and alpha derive from the trainer's step, and the sample order from the seed.</para>
/// </remarks>
public sealed class AstmtExperiment : IExperiment
{
    private readonly RunConfig _config;
    private readonly AstmtNetwork _network;
    private readonly Sgd _optimizer;
    private readonly double[] _groupBaseRates;
    private readonly Generator _augment;
    private readonly AstmtDiscriminatorMeter _discriminator;
    private readonly Device _device;

    /// <summary>Builds the network, data and optimizer of <paramref name="config"/>; bad options are a
    /// <see cref="ConfigurationException"/> naming the flag.</summary>
    public AstmtExperiment(RunConfig config)
    {
        _config = config;
        Options = AstmtOptions.From(config);
        Baselines = AstmtBaselines.Load(Options.BaselineFiles, Options.Network.Tasks);
        Data = new AstmtDataSource(config, Options);
        _device = TrainingDevice.Initialize(config.Device);
        _network = new AstmtNetwork(Options.Network, unchecked((ulong)config.Seed));
        _network.To(_device); // before the optimizer, whose momentum buffers follow the parameters
        _optimizer = AstmtTraining.CreateOptimizer(_network, config.LearningRate);
        _groupBaseRates = _optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
        _augment = new Generator(unchecked((ulong)config.Seed * 0x9E3779B97F4A7C15UL + 0xA5A5UL));
        NetworkTasks = Options.Network.Tasks;
        _discriminator = new AstmtDiscriminatorMeter(_network.Tasks);
        Tasks = NetworkTasks.Select(t => AstmtMetricNames.Describe(t, Options.Network.Adversarial)).ToArray();
    }

    /// <inheritdoc />
    public IReadOnlyList<TaskInfo> Tasks { get; }

    /// <inheritdoc />
    public int TrainCount => Data.TrainCount;

    /// <inheritdoc />
    public int EvalCount => Data.EvalCount;

    /// <summary>The network (for tests and tools).</summary>
    public AstmtNetwork Network => _network;

    /// <summary>The optimizer (for tests).</summary>
    public Sgd Optimizer => _optimizer;

    /// <summary>The device the network trains on (<c>--device</c>).</summary>
    public Device Device => _device;

    internal AstmtOptions Options { get; }
    internal AstmtDataSource Data { get; }
    internal AstmtBaselines Baselines { get; }
    internal IReadOnlyList<AstmtTask> NetworkTasks { get; }

    /// <summary>How the evaluation metrics are computed (shown under the epoch table).</summary>
    internal const string MetricNote = "IoU/F/fractions in %, angles in degrees; mIoU over classes present in truth or prediction; " +
        "normals and depth pooled over valid pixels; edge ODS F approximates the MATLAB benchmark (tolerance 0.0075 of the diagonal)";

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double>? TaskWeights => null;

    // ---------------------------------------------------------------- facts

    /// <inheritdoc />
    public IReadOnlyList<KeyValuePair<string, string>> Describe()
    {
        var ci = CultureInfo.InvariantCulture;
        var c = Options.Network;
        var cost = AstmtComplexity.Measure(c, _config.Height, _config.Width);
        long flopsPerImage = 2 * cost.MacsPerImage;
        var groups = _optimizer.ParamGroups;
        string Count(string group) => groups.FirstOrDefault(g => g.Name == group) is { } g ? g.Parameters.Sum(p => p.Numel).ToString("N0", ci) : "0";
        var facts = new List<KeyValuePair<string, string>>
        {
            new("network", $"ASTMT {c.Backbone} (SE-ResNet + DeepLab-v3+), output stride {c.OutputStride}, decoder width {c.DecoderWidth}" +
                           (c.WidthDivisor > 1 ? $", encoder widths / {c.WidthDivisor}" : "")),
            new("modulation", $"se-encoder {OnOff(c.SeEncoder)}, se-decoder {OnOff(c.SeDecoder)}, adapters {OnOff(c.Adapters)}, adversarial {OnOff(c.Adversarial)}" +
                              (c.Adversarial ? $" (discriminator {c.DiscriminatorKernel}x{c.DiscriminatorKernel})" : "")),
            new("parameters", _network.ParameterCount().ToString("N0", ci)),
            new("parameter groups", $"shared {Count("shared")}, task-specific {Count("task")}" + (c.Adversarial ? $", discriminator {Count("discriminator")}" : "")),
            new($"FLOPs per image at {_config.Height}x{_config.Width}", string.Create(ci,
                $"{flopsPerImage:N0} ({flopsPerImage / 1e9:F2} GFLOPs for all {cost.TaskCount} tasks: {cost.EncoderPasses} encoder pass{(cost.EncoderPasses > 1 ? "es" : "")} of {2 * cost.EncoderMacs / 1e9:F2} + " +
                $"{cost.TaskCount} decoders of {2 * cost.DecoderMacs / 1e9:F2}; 2 x conv/linear multiply-adds)")),
            new("data", Data.Description),
            new("optimizer", string.Create(ci,
                $"SGD(lr {_config.LearningRate}, momentum {AstmtTraining.Momentum}, wd {AstmtTraining.WeightDecay}); task-specific x{c.Tasks.Count}") +
                (c.Adversarial ? string.Create(ci, $", discriminator x{AstmtTraining.DiscriminatorMultiplier}") : "") + "; poly 0.9 per step (applied, unlike the reference)"),
            new("task step", Options.StepMode == AstmtStepMode.PerTask ? "per-task (one SGD step per task per batch, the reference)" : "summed (one SGD step on all tasks' gradients)"),
            new("eval metrics", MetricNote),
        };
        if (c.Adversarial) facts.Add(new("adversarial", "loss 0.99·task + 0.01·discriminator; gradient reversal alpha = 2/(1+exp(-10p)) - 1, p = training progress"));
        if (Baselines.Values.Count > 0)
            facts.Add(new("Δm baselines", string.Join(", ", Baselines.Values.Select(p => string.Create(ci, $"{p.Key} {p.Value:G6}")))));
        return facts;
    }

    private static string OnOff(bool on) => on ? "on" : "off";

    // ---------------------------------------------------------------- training

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> TrainStep(TrainBatch batch)
    {
        ulong[]? seeds = null;
        if (Data.Augmented)
        {
            seeds = new ulong[batch.SampleIndices.Length];
            for (int i = 0; i < seeds.Length; i++) seeds[i] = _augment.NextUInt64();
        }
        using var data = Data.TrainBatch(batch.SampleIndices, seeds);
        var images = TrainingDevice.On(data.Images, _device);
        var truths = data.Truths.ToDictionary(p => p.Key, p => TrainingDevice.On(p.Value, _device));

        double progress = Math.Clamp(batch.Progress, 0, 1);
        double decay = Math.Pow(1 - progress, 0.9);
        for (int g = 0; g < _groupBaseRates.Length; g++) _optimizer.ParamGroups[g].LearningRate = _groupBaseRates[g] * decay;
        double alpha = AstmtAdversarial.Alpha(progress);

        // The step updates the weights before the trainer has seen the losses, so keep what it needs to put them back.
        var snapshot = Snapshot();
        IReadOnlyList<AstmtTaskStep> steps;
        try
        {
            steps = AstmtTraining.TrainStep(_network, _optimizer, images, truths, alpha, Options.StepMode, Options.Network.Adversarial);
        }
        finally
        {
            Autograd.ReleaseStep();
            if (!_device.IsCpu)
            {
                images.Dispose();
                foreach (var t in truths.Values) t.Dispose();
            }
        }

        var losses = new Dictionary<string, double>();
        foreach (var task in NetworkTasks) losses[task.Name] = 0; // a task whose batch is all void is skipped, as the reference does
        bool finite = true;
        foreach (var step in steps)
        {
            var task = NetworkTasks.First(t => t.Name == step.Task);
            double value = step.TaskLoss / task.LossWeight;
            losses[step.Task] = value;
            if (!double.IsFinite(value) || step.DiscriminatorLoss is { } d && !double.IsFinite(d))
            {
                finite = false;
                if (double.IsFinite(value)) losses[step.Task] = double.NaN; // the discriminator diverged: report it on its task
            }
        }
        if (!finite) Restore(snapshot);
        else _discriminator.Add(steps);
        foreach (var t in snapshot.Values) t.Dispose();
        return losses;
    }

    /// <inheritdoc />
    public void ApplyUpdate()
    {
        // The optimizer already stepped inside TrainStep (per task, or once on the sum); a non-finite batch was rolled back there.
    }

    // The weights are copied on their device; the optimizer's state dict is a host copy (on a GPU that is one transfer of the
    // momentum buffers per step, the price of the rollback).
    private Dictionary<string, Tensor> Snapshot()
    {
        var copy = new Dictionary<string, Tensor>();
        foreach (var (name, t) in _network.StateDict()) copy["model." + name] = t.Detach();
        foreach (var (name, t) in _optimizer.StateDict("optim.")) copy[name] = t;
        return copy;
    }

    private void Restore(Dictionary<string, Tensor> snapshot)
    {
        AstmtStateLoader.LoadWeights(_network, snapshot);
        _optimizer.LoadStateDict(snapshot.Where(p => p.Key.StartsWith("optim.", StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value), "optim.");
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> TakeTrainMetrics() =>
        _discriminator.Take().ToDictionary(p => p.Key, p => (IReadOnlyDictionary<string, double>)p.Value);

    /// <inheritdoc />
    public void EndEpoch(EpochEnd epochEnd)
    {
        // The schedule and alpha follow the step count (set in TrainStep); nothing is kept per epoch.
    }

    // ---------------------------------------------------------------- evaluation

    /// <inheritdoc />
    public IEvaluation BeginEvaluation() => new AstmtEvaluation(this);

    /// <summary>Every task's raw prediction [B,C,H,W] on the host for host <paramref name="images"/>, in eval mode without a graph
    /// (the encoder runs once when it holds nothing task-specific); the caller disposes them.</summary>
    internal Dictionary<string, Tensor> PredictEval(Tensor images)
    {
        bool training = _network.Training;
        _network.Eval();
        var input = TrainingDevice.On(images, _device);
        try
        {
            using (Autograd.NoGrad())
            {
                var outputs = _network.ForwardTasks(input);
                var result = new Dictionary<string, Tensor>();
                foreach (var (task, output) in outputs)
                {
                    result[task] = TrainingDevice.OnHost(output.Prediction);
                    if (!ReferenceEquals(result[task], output.Prediction)) output.Prediction.Dispose();
                    output.Features.Dispose();
                }
                return result;
            }
        }
        finally
        {
            if (!ReferenceEquals(input, images)) input.Dispose();
            _network.Train(training);
        }
    }

    /// <inheritdoc />
    public PredictionSample Predict(int evalIndex) => AstmtPredictions.Sample(this, evalIndex);

    // ---------------------------------------------------------------- state

    /// <inheritdoc />
    public ExperimentState CaptureState()
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, t) in _network.StateDict()) tensors["model." + name] = t.Device.IsCpu ? t.Detach() : t.To(Device.Cpu);
        foreach (var (name, t) in _optimizer.StateDict("optim.")) tensors[name] = t; // host copies
        tensors["rng.augment"] = GeneratorState.Save(_augment);
        tensors["metrics.discriminator"] = Tensor.FromArray((double[])_discriminator.State.Clone(), _discriminator.State.Length);
        var metadata = new Dictionary<string, string>
        {
            ["astmt.model"] = _config.Model,
            ["astmt.dataset"] = _config.Dataset,
            ["astmt.tasks"] = string.Join(",", _network.Tasks),
        };
        return new ExperimentState(tensors, metadata);
    }

    /// <inheritdoc />
    public void LoadState(ExperimentState state, bool weightsOnly)
    {
        AstmtStateLoader.LoadWeights(_network, state.Tensors);
        if (weightsOnly) return;
        try
        {
            _optimizer.LoadStateDict(state.Tensors.Where(p => p.Key.StartsWith("optim.", StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value), "optim.");
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new ConfigurationException($"the checkpoint's optimizer state does not fit this run: {e.Message}", e);
        }
        for (int g = 0; g < _groupBaseRates.Length; g++) _optimizer.ParamGroups[g].LearningRate = _groupBaseRates[g];
        if (!state.Tensors.TryGetValue("rng.augment", out var rng))
            throw new ConfigurationException("the checkpoint has no 'rng.augment' tensor; expected a checkpoint written by 'train' for an ASTMT model.");
        GeneratorState.Restore(_augment, rng, "rng.augment");
        if (!state.Tensors.TryGetValue("metrics.discriminator", out var sums))
            throw new ConfigurationException("the checkpoint has no 'metrics.discriminator' tensor; expected a checkpoint written by 'train' for an ASTMT model.");
        _discriminator.Restore(sums.ToDoubleArray());
    }

    /// <inheritdoc />
    public void Dispose() => GC.SuppressFinalize(this);
}
