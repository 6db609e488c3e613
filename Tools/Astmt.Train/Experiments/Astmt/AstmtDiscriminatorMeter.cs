using Astmt.Models.Astmt;

namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>
/// The discriminator's training statistics per task since the last <see cref="Take"/>: the mean over the steps that ran the task of
/// its cross-entropy and of its per-pixel accuracy (the share of non-void pixels where its arg-max is the task's index; 100/T % is
/// chance, and adversarial training pushes it there). The sums are plain doubles in <see cref="State"/>, so a checkpoint taken
/// mid-epoch resumes to the same epoch figures.
/// </summary>
public sealed class AstmtDiscriminatorMeter
{
    private readonly IReadOnlyList<string> _tasks;
    // Per task: [sum of losses, sum of accuracies, steps].
    private readonly double[] _sums;

    /// <summary>A meter for <paramref name="tasks"/>.</summary>
    public AstmtDiscriminatorMeter(IReadOnlyList<string> tasks)
    {
        _tasks = tasks;
        _sums = new double[3 * tasks.Count];
    }

    /// <summary>The accumulators, for checkpoints.</summary>
    public double[] State => _sums;

    /// <summary>Restores accumulators from <see cref="State"/>.</summary>
    public void Restore(double[] state)
    {
        if (state.Length != _sums.Length)
            throw new ConfigurationException($"the checkpoint's discriminator statistics hold {state.Length} values; expected {_sums.Length} (3 per task).");
        state.CopyTo(_sums, 0);
    }

    /// <summary>Adds the steps of one batch (tasks without a discriminator value are ignored).</summary>
    public void Add(IEnumerable<AstmtTaskStep> steps)
    {
        foreach (var step in steps)
        {
            if (step.DiscriminatorLoss is not { } loss || step.DiscriminatorAccuracy is not { } accuracy || double.IsNaN(accuracy)) continue;
            int i = IndexOf(step.Task);
            _sums[3 * i] += loss;
            _sums[3 * i + 1] += accuracy;
            _sums[3 * i + 2] += 1;
        }
    }

    /// <summary>Per task, the mean loss and the mean accuracy (%) since the last call; resets. Tasks that did not run are left out.</summary>
    public Dictionary<string, Dictionary<string, double>> Take()
    {
        var result = new Dictionary<string, Dictionary<string, double>>();
        for (int i = 0; i < _tasks.Count; i++)
        {
            double steps = _sums[3 * i + 2];
            if (steps == 0) continue;
            result[_tasks[i]] = new Dictionary<string, double>
            {
                [AstmtMetricNames.DiscriminatorLoss] = _sums[3 * i] / steps,
                [AstmtMetricNames.DiscriminatorAccuracy] = 100.0 * _sums[3 * i + 1] / steps,
            };
        }
        Array.Clear(_sums);
        return result;
    }

    private int IndexOf(string task)
    {
        for (int i = 0; i < _tasks.Count; i++) if (_tasks[i] == task) return i;
        throw new ArgumentException($"AstmtDiscriminatorMeter: unknown task '{task}'; expected one of {string.Join(", ", _tasks)}.");
    }
}
