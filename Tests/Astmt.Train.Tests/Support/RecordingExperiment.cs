using Astmt.Train.Experiments;
using Astmt.Train.Experiments.Mtan;

namespace Astmt.Train.Tests.Support;

/// <summary>
/// Wraps a real experiment and records every training step's losses; it can press "Ctrl-C" during a chosen global step, and
/// optionally shows the experiment to <c>before</c> just before each step. Everything else is passed through unchanged, so the
/// run is the real one.
/// </summary>
public sealed class RecordingExperiment(IExperiment inner, Action<TrainBatch, IReadOnlyDictionary<string, double>> onStep,
    Action<IExperiment>? before = null) : IExperiment
{
    /// <summary>A registry of the shipped MTAN experiments whose experiments report each step to <paramref name="onStep"/>.</summary>
    public static ExperimentRegistry MtanRegistry(Action<TrainBatch, IReadOnlyDictionary<string, double>> onStep)
    {
        var registry = new ExperimentRegistry();
        foreach (var d in ExperimentRegistry.CreateDefault().All)
        {
            var original = d;
            registry.Register(new ExperimentDescriptor
            {
                Name = original.Name,
                Summary = original.Summary,
                Datasets = original.Datasets,
                Defaults = original.Defaults,
                Presets = original.Presets,
                Options = original.Options,
                Create = config => new RecordingExperiment(original.Create(config), onStep),
            });
        }
        return registry;
    }

    public IReadOnlyList<TaskInfo> Tasks => inner.Tasks;
    public int TrainCount => inner.TrainCount;
    public int EvalCount => inner.EvalCount;
    public IReadOnlyDictionary<string, double>? TaskWeights => inner.TaskWeights;
    public IReadOnlyList<KeyValuePair<string, string>> Describe() => inner.Describe();

    public IReadOnlyDictionary<string, double> TrainStep(TrainBatch batch)
    {
        before?.Invoke(inner);
        var losses = inner.TrainStep(batch);
        onStep(batch, losses);
        return losses;
    }

    public void ApplyUpdate() => inner.ApplyUpdate();
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> TakeTrainMetrics() => inner.TakeTrainMetrics();
    public void EndEpoch(EpochEnd epochEnd) => inner.EndEpoch(epochEnd);
    public IEvaluation BeginEvaluation() => inner.BeginEvaluation();
    public PredictionSample Predict(int evalIndex) => inner.Predict(evalIndex);
    public ExperimentState CaptureState() => inner.CaptureState();
    public void LoadState(ExperimentState state, bool weightsOnly) => inner.LoadState(state, weightsOnly);
    public void Dispose() => inner.Dispose();

    /// <summary>The wrapped MTAN experiment, if it is one.</summary>
    public MtanExperiment? Mtan => inner as MtanExperiment;
}
