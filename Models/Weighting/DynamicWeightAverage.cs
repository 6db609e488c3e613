using Astmt.Engine;

namespace Astmt.Models.Weighting;

/// <summary>
/// Dynamic Weight Average (Liu et al. 2019, spec §2 and pitfall 6): λ_i = 1 in epochs 0 and 1; from epoch t ≥ 2,
/// w_i = L̄_i(t−1)/L̄_i(t−2) and λ_i = K·exp(w_i/T)/Σ_j exp(w_j/T), with K the task count and L̄_i(t) the unweighted mean over
/// epoch t's training batches of task i's loss (every batch counts equally, as the reference's <c>avg_cost</c>).
/// </summary>
public sealed class DynamicWeightAverage : TaskWeightingBase
{
    private readonly List<double[]> _epochMeans = [];
    private readonly double[] _batchSums;
    private int _batches;
    private double[] _weights;

    /// <summary>Creates the strategy with temperature <paramref name="temperature"/> (the reference's default 2).</summary>
    public DynamicWeightAverage(int taskCount, double temperature = 2.0) : base(taskCount)
    {
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "DWA: the temperature must be positive.");
        Temperature = temperature;
        _batchSums = new double[taskCount];
        _weights = Enumerable.Repeat(1.0, taskCount).ToArray();
    }

    /// <summary>The temperature T.</summary>
    public double Temperature { get; }

    /// <inheritdoc />
    public override string Name => "dwa";

    /// <inheritdoc />
    public override IReadOnlyList<double> Weights => _weights;

    /// <summary>Per completed epoch, the mean training loss of each task.</summary>
    public IReadOnlyList<IReadOnlyList<double>> EpochMeans => _epochMeans;

    /// <summary>Replaces the per-epoch history (when resuming a run from a checkpoint).</summary>
    public void RestoreHistory(IEnumerable<IReadOnlyList<double>> epochMeans)
    {
        var history = epochMeans.Select(m => m.ToArray()).ToList();
        foreach (var m in history) CheckCount(m.Length);
        _epochMeans.Clear();
        _epochMeans.AddRange(history);
    }

    /// <inheritdoc />
    public override void BeginEpoch(int epoch)
    {
        base.BeginEpoch(epoch);
        Array.Clear(_batchSums);
        _batches = 0;
        if (epoch < 2)
        {
            _weights = Enumerable.Repeat(1.0, TaskCount).ToArray();
            return;
        }
        if (_epochMeans.Count < epoch)
            throw new InvalidOperationException($"DWA: epoch {epoch} needs the mean losses of epochs {epoch - 2} and {epoch - 1}, but only {_epochMeans.Count} epochs were recorded (call EndBatch and EndEpoch).");
        _weights = ComputeWeights(_epochMeans[epoch - 1], _epochMeans[epoch - 2], Temperature);
    }

    /// <inheritdoc />
    public override Tensor Combine(IReadOnlyList<Tensor> taskLosses) => WeightedSum(taskLosses, _weights);

    /// <inheritdoc />
    public override void EndBatch(IReadOnlyList<double> taskLossValues)
    {
        base.EndBatch(taskLossValues);
        for (int i = 0; i < TaskCount; i++) _batchSums[i] += taskLossValues[i];
        _batches++;
    }

    /// <inheritdoc />
    public override void EndEpoch()
    {
        if (_batches == 0) throw new InvalidOperationException("DWA: EndEpoch without any EndBatch; the epoch's mean losses are undefined.");
        _epochMeans.Add(_batchSums.Select(s => s / _batches).ToArray());
    }

    /// <summary>λ_i = K·softmax_i(w/T) with w_i = previous_i / beforePrevious_i and K the task count.</summary>
    public static double[] ComputeWeights(IReadOnlyList<double> previous, IReadOnlyList<double> beforePrevious, double temperature)
    {
        int k = previous.Count;
        if (beforePrevious.Count != k) throw new ArgumentException($"DWA: {k} and {beforePrevious.Count} task losses differ in count.");
        var e = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++)
        {
            e[i] = Math.Exp(previous[i] / beforePrevious[i] / temperature);
            sum += e[i];
        }
        for (int i = 0; i < k; i++) e[i] = k * e[i] / sum;
        return e;
    }
}
