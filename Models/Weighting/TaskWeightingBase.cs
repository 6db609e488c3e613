using Astmt.Engine;
using Astmt.Engine.Ops;

namespace Astmt.Models.Weighting;

/// <summary>Shared plumbing of the loss-weighting strategies: argument checks and Σ λ_i L_i.</summary>
public abstract class TaskWeightingBase : ITaskWeighting
{
    /// <summary>Sets the task count.</summary>
    protected TaskWeightingBase(int taskCount)
    {
        if (taskCount <= 0) throw new ArgumentOutOfRangeException(nameof(taskCount), taskCount, "Task weighting needs at least one task.");
        TaskCount = taskCount;
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public int TaskCount { get; }

    /// <inheritdoc />
    public abstract IReadOnlyList<double> Weights { get; }

    /// <inheritdoc />
    public virtual IReadOnlyList<Tensor> Parameters => [];

    /// <inheritdoc />
    public virtual void BeginEpoch(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, $"{Name} weighting: epochs are counted from 0.");
    }

    /// <inheritdoc />
    public abstract Tensor Combine(IReadOnlyList<Tensor> taskLosses);

    /// <inheritdoc />
    public virtual void Backward(IReadOnlyList<Tensor> taskLosses, IReadOnlyList<Tensor> sharedParameters) => Combine(taskLosses).Backward();

    /// <inheritdoc />
    public virtual void EndBatch(IReadOnlyList<double> taskLossValues) => CheckCount(taskLossValues.Count);

    /// <inheritdoc />
    public virtual void EndEpoch() { }

    /// <summary>Σ_i weights[i]·losses[i].</summary>
    protected Tensor WeightedSum(IReadOnlyList<Tensor> taskLosses, IReadOnlyList<double> weights)
    {
        CheckCount(taskLosses.Count);
        Tensor? total = null;
        for (int i = 0; i < taskLosses.Count; i++)
        {
            if (taskLosses[i].Numel != 1) throw new ArgumentException($"{Name} weighting: task loss {i} must be a scalar, got {taskLosses[i].Describe()}.");
            var term = weights[i] == 1.0 ? taskLosses[i] : F.Mul(taskLosses[i], weights[i]);
            total = total == null ? term : F.Add(total, term);
        }
        return total!;
    }

    /// <summary>Throws unless <paramref name="count"/> equals the task count.</summary>
    protected void CheckCount(int count)
    {
        if (count != TaskCount) throw new ArgumentException($"{Name} weighting: expected {TaskCount} task losses, got {count}.");
    }
}
