using Astmt.Engine;

namespace Astmt.Models.Weighting;

/// <summary>
/// A task-weighting strategy: turns the per-task losses of a batch into the loss to differentiate (or runs the backward itself,
/// for gradient-manipulation methods such as GradNorm or PCGrad), and keeps whatever per-batch or per-epoch state it needs.
/// The trainer calls <see cref="BeginEpoch"/>, then for every batch <see cref="Backward"/> and <see cref="EndBatch"/>, then
/// <see cref="EndEpoch"/>.
/// </summary>
public interface ITaskWeighting
{
    /// <summary>Short name ("equal", "dwa", "uncert").</summary>
    string Name { get; }

    /// <summary>Number of tasks.</summary>
    int TaskCount { get; }

    /// <summary>The current weights λ (for logging; uncertainty weighting reports 1/(2·e^s)).</summary>
    IReadOnlyList<double> Weights { get; }

    /// <summary>Trainable tensors the strategy owns and the optimizer must update (none when they belong to the model).</summary>
    IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>Called before the first batch of epoch <paramref name="epoch"/> (0-based).</summary>
    void BeginEpoch(int epoch);

    /// <summary>The weighted total loss of one batch's task losses (scalars, in task order).</summary>
    Tensor Combine(IReadOnlyList<Tensor> taskLosses);

    /// <summary>Computes and accumulates parameter gradients for one batch; the default is <c>Combine(losses).Backward()</c>.
    /// <paramref name="sharedParameters"/> are the parameters shared by all tasks, for methods that manipulate their gradients.</summary>
    void Backward(IReadOnlyList<Tensor> taskLosses, IReadOnlyList<Tensor> sharedParameters);

    /// <summary>Records the values of a batch's unweighted task losses.</summary>
    void EndBatch(IReadOnlyList<double> taskLossValues);

    /// <summary>Closes the epoch begun by <see cref="BeginEpoch"/>.</summary>
    void EndEpoch();
}
