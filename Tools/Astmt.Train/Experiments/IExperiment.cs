namespace Astmt.Train.Experiments;

/// <summary>
/// A model, its data, losses, optimizer and metrics, seen by the trainer as a black box that trains on batches of sample
/// indices. The trainer owns the loop, the sample order, checkpoints, logs and reports; the experiment owns everything else.
/// </summary>
/// <remarks>
/// Exact resume: the trainer decides the order of samples from the seed and the epoch, so an experiment must derive any other
/// randomness (augmentation, dropout, initialisation) from its own generators and return their state in
/// <see cref="CaptureState"/> (the engine's <c>Generator</c>, saved with <see cref="GeneratorState"/>). Given the same state, the same batch must give the same
/// losses. <see cref="BeginEvaluation"/> and <see cref="Predict"/> must not touch training randomness.
/// </remarks>
public interface IExperiment : IDisposable
{
    /// <summary>The tasks, in display order.</summary>
    IReadOnlyList<TaskInfo> Tasks { get; }

    /// <summary>Number of training samples; batches draw indices in [0, TrainCount).</summary>
    int TrainCount { get; }

    /// <summary>Number of evaluation samples; evaluation batches draw indices in [0, EvalCount).</summary>
    int EvalCount { get; }

    /// <summary>Facts for <c>info</c> and for the report, in display order (for example "parameters" → "44,229,076").</summary>
    IReadOnlyList<KeyValuePair<string, string>> Describe();

    /// <summary>
    /// Runs the forward and backward pass of one training batch and returns each task's unweighted loss (mean over the batch).
    /// Parameters must not change yet: the trainer calls <see cref="ApplyUpdate"/> only when every loss is finite, so that a
    /// NaN leaves the last good state to checkpoint.
    /// </summary>
    IReadOnlyDictionary<string, double> TrainStep(TrainBatch batch);

    /// <summary>Applies the optimizer step for the gradients of the last <see cref="TrainStep"/>.</summary>
    void ApplyUpdate();

    /// <summary>The current task weights, or null when weighting is equal (the trainer then shows no weight column).</summary>
    IReadOnlyDictionary<string, double>? TaskWeights { get; }

    /// <summary>Metrics accumulated on the training batches since the previous call, per task (empty when not tracked); resets
    /// the accumulation. The accumulators are part of <see cref="CaptureState"/> so a resumed epoch reports the same.</summary>
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> TakeTrainMetrics();

    /// <summary>Called after each epoch's training with the epoch's mean per-task losses, before evaluation: the place for
    /// loss-based weighting (DWA) and learning-rate schedules.</summary>
    void EndEpoch(EpochEnd epochEnd);

    /// <summary>Starts a pass over the evaluation set in eval mode.</summary>
    IEvaluation BeginEvaluation();

    /// <summary>The input, prediction and ground truth of evaluation sample <paramref name="evalIndex"/>, for prediction grids.</summary>
    PredictionSample Predict(int evalIndex);

    /// <summary>Everything needed to continue training exactly: weights, optimizer state, RNG state, weighting state.</summary>
    ExperimentState CaptureState();

    /// <summary>Restores a state from <see cref="CaptureState"/>; with <paramref name="weightsOnly"/>, only the model weights
    /// (for <c>eval</c> and <c>predict</c>). A weights-only state may also come from an imported file (PyTorch weights converted
    /// to safetensors) whose tensors carry the bare state-dict names without the <c>model.</c> prefix. Throws
    /// <see cref="ConfigurationException"/> naming the first missing or mis-shaped tensor when the state does not fit.</summary>
    void LoadState(ExperimentState state, bool weightsOnly);
}

/// <summary>One training batch as the trainer hands it out.</summary>
/// <param name="SampleIndices">Training sample indices, in [0, TrainCount).</param>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="StepInEpoch">Zero-based batch index within the epoch.</param>
/// <param name="GlobalStep">Zero-based batch index since the start of training.</param>
/// <param name="Progress">Fraction of all training steps done before this one, in [0, 1) (for schedules such as ASTMT's alpha).</param>
public sealed record TrainBatch(int[] SampleIndices, int Epoch, int StepInEpoch, long GlobalStep, double Progress);

/// <summary>What an experiment learns at the end of an epoch.</summary>
/// <param name="Epoch">Zero-based epoch that just finished training.</param>
/// <param name="TotalEpochs">Number of epochs the run is configured for.</param>
/// <param name="MeanTrainLosses">Mean unweighted loss per task over the epoch's training samples.</param>
public sealed record EpochEnd(int Epoch, int TotalEpochs, IReadOnlyDictionary<string, double> MeanTrainLosses);

/// <summary>A pass over the evaluation set.</summary>
public interface IEvaluation
{
    /// <summary>Evaluates the samples <paramref name="sampleIndices"/> and accumulates losses and metric statistics.</summary>
    void Add(int[] sampleIndices);

    /// <summary>The losses and metrics over all samples added.</summary>
    EvaluationResult Finish();
}

/// <summary>Per-task evaluation losses and metrics.</summary>
/// <param name="Losses">Mean unweighted loss per task.</param>
/// <param name="Metrics">Metric values per task, keyed by <see cref="MetricInfo.Name"/>.</param>
/// <param name="Note">How the metrics were computed (for example "whole-split statistics"), shown under the table.</param>
public sealed record EvaluationResult(
    IReadOnlyDictionary<string, double> Losses,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Metrics,
    string? Note = null);

/// <summary>One evaluation sample drawn for a prediction grid.</summary>
/// <param name="Input">The input image as H×W×3 values in [0, 1].</param>
/// <param name="Tasks">Per task, the prediction and the ground truth.</param>
/// <param name="RawOutputs">Optionally, per task, the network's raw output for <c>predict</c> to save as float32 .npy
/// (for example log-probabilities C×H×W for segmentation).</param>
public sealed record PredictionSample(DenseMap Input, IReadOnlyDictionary<string, TaskPrediction> Tasks,
    IReadOnlyDictionary<string, RawOutput>? RawOutputs = null);

/// <summary>A raw network output in channels-first layout.</summary>
/// <param name="Values">Values, row-major over <paramref name="Shape"/>.</param>
/// <param name="Shape">For example [C, H, W].</param>
public sealed record RawOutput(float[] Values, int[] Shape);

/// <summary>A task's prediction next to its ground truth.</summary>
/// <param name="Prediction">Class indices (1 channel) for segmentation, depth (1 channel), normals (3), probabilities (1).</param>
/// <param name="GroundTruth">The same layout; negative labels, depth ≤ 0 and zero normals mark invalid pixels.</param>
public sealed record TaskPrediction(DenseMap Prediction, DenseMap GroundTruth);

/// <summary>A dense H×W×C map of floats, channels last.</summary>
public sealed class DenseMap
{
    /// <summary>Height.</summary>
    public int Height { get; }

    /// <summary>Width.</summary>
    public int Width { get; }

    /// <summary>Channels.</summary>
    public int Channels { get; }

    /// <summary>Values, H×W×C row-major.</summary>
    public float[] Values { get; }

    /// <summary>Wraps <paramref name="values"/> (H×W×C, channels last).</summary>
    public DenseMap(int height, int width, int channels, float[] values)
    {
        if (height <= 0 || width <= 0 || channels <= 0 || values.Length != (long)height * width * channels)
            throw new ArgumentException($"A {height}x{width}x{channels} map needs {(long)height * width * channels} values, got {values.Length}.");
        Height = height;
        Width = width;
        Channels = channels;
        Values = values;
    }

    /// <summary>Value at row <paramref name="y"/>, column <paramref name="x"/>, channel <paramref name="c"/>.</summary>
    public float this[int y, int x, int c = 0] => Values[(y * Width + x) * Channels + c];
}
