using System.Diagnostics;
using System.Globalization;
using Astmt.Engine.NN;
using Astmt.Train.Config;
using Astmt.Train.Experiments;
using Astmt.Train.Output;
using Astmt.Train.Report;

namespace Astmt.Train.Training;

/// <summary>
/// The training loop: shuffled batches per epoch, progress, NaN guard, evaluation, the epoch table, metrics.jsonl, checkpoints
/// with <c>last</c>/<c>best</c> pointers, the report and prediction grids. Stops cleanly on request (Ctrl-C) after the
/// current step with a checkpoint from which <c>resume</c> continues exactly.
/// </summary>
public sealed class Trainer
{
    private readonly IExperiment _experiment;
    private readonly RunConfig _config;
    private readonly RunDirectory _run;
    private readonly RunConsole _console;
    private readonly CancellationToken _stop;
    private readonly CheckpointStore _checkpoints;

    /// <summary>A trainer for <paramref name="experiment"/> writing into <paramref name="run"/>; <paramref name="stop"/> asks it to
    /// checkpoint and stop after the current step.</summary>
    public Trainer(IExperiment experiment, RunConfig config, RunDirectory run, RunConsole console, CancellationToken stop)
    {
        _experiment = experiment;
        _config = config;
        _run = run;
        _console = console;
        _stop = stop;
        _checkpoints = new CheckpointStore(run.CheckpointsFolder);
    }

    /// <summary>The order of training samples in epoch <paramref name="epoch"/>: a shuffle that depends only on the seed and the
    /// epoch, so a resumed run replays it without saving it.</summary>
    public static int[] EpochOrder(long seed, int epoch, int count)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        // The generator seeds through SplitMix64, so nearby (seed, epoch) pairs still give unrelated orders.
        GeneratorState.Shuffle(new Generator(unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + 0x5A3F_0000UL + (ulong)epoch)), order);
        return order;
    }

    /// <summary>Trains from the beginning, or from <paramref name="resume"/> (the trainer state of a checkpoint whose experiment
    /// state is already loaded). Returns the process exit code.</summary>
    public int Run(TrainerState? resume)
    {
        var tasks = _experiment.Tasks;
        int n = _experiment.TrainCount, bs = _config.BatchSize;
        if (n <= 0) throw new ConfigurationException($"dataset '{_config.Dataset}' has no training samples.");
        int batchesPerEpoch = (n + bs - 1) / bs;
        long totalSteps = (long)batchesPerEpoch * _config.Epochs;

        var st = resume?.Clone() ?? new TrainerState();
        st.ConfigHash = _config.Hash();
        var history = MetricsLog.Read(_run.MetricsPath).Where(r => r.Epoch <= st.Epoch).ToList();
        if (resume != null)
            _console.Line($"Resuming {_run.Root} at epoch {st.Epoch + 1}, step {st.StepInEpoch} of {batchesPerEpoch}.");
        else BaselineEvaluation.Run(_experiment, bs, _run, _console);

        while (st.Epoch < _config.Epochs)
        {
            int epoch = st.Epoch;
            int[] order = EpochOrder(_config.Seed, epoch, n);
            var clock = Stopwatch.StartNew();
            double secondsBefore = st.EpochSeconds;
            bool interrupted = false;
            string? badTask = null;
            double badValue = 0;

            _console.Progress($"epoch {epoch + 1}/{_config.Epochs}", n, (int)st.ImagesInEpoch, sink =>
            {
                while (st.StepInEpoch < batchesPerEpoch)
                {
                    if (_stop.IsCancellationRequested) { interrupted = true; return; }
                    int start = st.StepInEpoch * bs, count = Math.Min(bs, n - start);
                    var batch = new TrainBatch(order[start..(start + count)], epoch, st.StepInEpoch, st.GlobalStep, (double)st.GlobalStep / totalSteps);
                    var losses = _experiment.TrainStep(batch);
                    foreach (var task in tasks)
                    {
                        if (!losses.TryGetValue(task.Name, out double v))
                            throw new InvalidOperationException($"The experiment returned no loss for task '{task.Name}'.");
                        if (!double.IsFinite(v)) { badTask = task.Name; badValue = v; return; }
                    }
                    _experiment.ApplyUpdate();
                    foreach (var task in tasks)
                        st.LossSums[task.Name] = st.LossSums.GetValueOrDefault(task.Name) + losses[task.Name] * count;
                    st.ImagesInEpoch += count;
                    st.StepInEpoch++;
                    st.GlobalStep++;
                    sink.Advance(count, RunningLoss(st, tasks));
                }
            });
            st.EpochSeconds = secondsBefore + clock.Elapsed.TotalSeconds;

            if (badTask != null) return StopOnNonFinite(st, badTask, badValue);
            if (interrupted) return StopOnInterrupt(st);

            var meanTrain = tasks.ToDictionary(t => t.Name, t => st.LossSums.GetValueOrDefault(t.Name) / st.ImagesInEpoch);
            var trainMetrics = _experiment.TakeTrainMetrics();
            var weights = _experiment.TaskWeights?.ToDictionary(p => p.Key, p => p.Value);
            _experiment.EndEpoch(new EpochEnd(epoch, _config.Epochs, meanTrain));
            var evalClock = Stopwatch.StartNew();
            var eval = Evaluator.Run(_experiment, bs, _console, $"eval  {epoch + 1}/{_config.Epochs}");

            var record = new EpochRecord
            {
                Epoch = epoch + 1,
                GlobalStep = st.GlobalStep,
                TrainLoss = meanTrain,
                TrainMetrics = Copy(trainMetrics),
                EvalLoss = eval.Losses.ToDictionary(p => p.Key, p => p.Value),
                EvalMetrics = Copy(eval.Metrics),
                TaskWeights = weights,
                MetricNote = eval.Note,
                ImagesPerSecond = st.EpochSeconds > 0 ? st.ImagesInEpoch / st.EpochSeconds : 0,
                Seconds = st.EpochSeconds + evalClock.Elapsed.TotalSeconds,
            };
            var previous = history.Count > 0 ? history[^1] : null;
            history.Add(record);
            MetricsLog.Write(_run.MetricsPath, history);

            st.Epoch++;
            st.StepInEpoch = 0;
            st.LossSums.Clear();
            st.ImagesInEpoch = 0;
            st.EpochSeconds = 0;
            bool isBest = st.BestScore is not { } b || record.EvalTotalLoss < b;
            if (isBest)
            {
                st.BestScore = record.EvalTotalLoss;
                st.BestEpoch = record.Epoch;
            }
            st.Reason = "epoch";
            string name = $"epoch-{record.Epoch:D4}";
            _checkpoints.Save(name, _experiment.CaptureState(), st);
            _checkpoints.SetPointer(CheckpointStore.Last, name);
            if (isBest) _checkpoints.SetPointer(CheckpointStore.Best, name);
            _checkpoints.Prune();

            _console.Write(MetricsTable.Build(tasks, record, previous, _console.Live));
            ReportWriter.Write(_run, _config, tasks, _experiment.Describe(), history, st);
        }

        if (_config.PredictionSamples > 0)
        {
            PredictionWriter.Write(_experiment, _run.PredictionsFolder, _config.PredictionSamples);
            ReportWriter.Write(_run, _config, tasks, _experiment.Describe(), history, st);
        }
        if (history.Count > 0) BaselineEvaluation.PrintComparison(_run, tasks, history[^1], _console);
        PrintSummary(history, st);
        return ExitCodes.Ok;
    }

    private int StopOnInterrupt(TrainerState st)
    {
        st.Reason = "interrupt";
        string name = $"interrupt-e{st.Epoch + 1:D4}-s{st.StepInEpoch:D6}";
        _checkpoints.Save(name, _experiment.CaptureState(), st);
        _checkpoints.SetPointer(CheckpointStore.Last, name);
        _checkpoints.Prune();
        _console.Line($"Interrupted after step {st.StepInEpoch} of epoch {st.Epoch + 1}; checkpoint written to {_checkpoints.PathOf(name)}.");
        _console.Line($"Resume with: dotnet run -c Release --project Tools/Astmt.Train -- resume {_run.Root}");
        return ExitCodes.Interrupted;
    }

    private int StopOnNonFinite(TrainerState st, string task, double value)
    {
        // The update of the failing step was not applied, so the experiment still holds the last good state.
        st.Reason = "nan";
        string name = $"nan-e{st.Epoch + 1:D4}-s{st.StepInEpoch:D6}";
        _checkpoints.Save(name, _experiment.CaptureState(), st);
        _console.Line(string.Create(CultureInfo.InvariantCulture,
            $"error: the loss of task '{task}' is {value} at epoch {st.Epoch + 1}, step {st.StepInEpoch} (global step {st.GlobalStep}); " +
            $"training stopped. The last good state is in {_checkpoints.PathOf(name)}; try a lower --lr."));
        return ExitCodes.NonFiniteLoss;
    }

    private void PrintSummary(List<EpochRecord> history, TrainerState st)
    {
        _console.Line("");
        _console.Line($"Finished {history.Count} epochs. Results are in {Path.GetFullPath(_run.Root)}:");
        _console.Line($"  report      {_run.ReportPath}");
        _console.Line($"  metrics     {_run.MetricsPath}");
        _console.Line($"  checkpoints {_run.CheckpointsFolder} (best: epoch {st.BestEpoch})");
        if (_config.PredictionSamples > 0) _console.Line($"  predictions {_run.PredictionsFolder}");
    }

    private static string RunningLoss(TrainerState st, IReadOnlyList<TaskInfo> tasks) =>
        string.Join(' ', tasks.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Name}={st.LossSums.GetValueOrDefault(t.Name) / Math.Max(1, st.ImagesInEpoch):F4}")));

    private static Dictionary<string, Dictionary<string, double>> Copy(IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> m) =>
        m.ToDictionary(p => p.Key, p => p.Value.ToDictionary(q => q.Key, q => q.Value));
}
