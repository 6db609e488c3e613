using Astmt.Engine;

namespace Astmt.Models.Weighting;

/// <summary>Equal weighting: L = Σ_i L_i (λ_i = 1 in every epoch, as the reference's default).</summary>
public sealed class EqualWeighting(int taskCount) : TaskWeightingBase(taskCount)
{
    private readonly double[] _ones = Enumerable.Repeat(1.0, taskCount).ToArray();

    /// <inheritdoc />
    public override string Name => "equal";

    /// <inheritdoc />
    public override IReadOnlyList<double> Weights => _ones;

    /// <inheritdoc />
    public override Tensor Combine(IReadOnlyList<Tensor> taskLosses) => WeightedSum(taskLosses, _ones);
}
