using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Weighting;

/// <summary>
/// Uncertainty weighting (Kendall et al. 2018, spec §2): L = Σ_i [L_i / (2·e^{s_i}) + s_i/2] with s = log σ², learned by the same
/// optimizer. The MTAN networks own s as their <c>logsigma</c> parameter (initialised to −0.5); pass it in so it is trained and
/// saved with the model, or let the strategy create and own one.
/// </summary>
public sealed class UncertaintyWeighting : TaskWeightingBase
{
    private readonly bool _ownsLogSigma;

    /// <summary>Uses <paramref name="logSigma"/> [tasks] (the model's), or creates one filled with −0.5 when it is null.</summary>
    public UncertaintyWeighting(int taskCount, Tensor? logSigma = null) : base(taskCount)
    {
        if (logSigma != null && (logSigma.Rank != 1 || logSigma.Shape[0] != taskCount))
            throw new ArgumentException($"Uncertainty weighting: logsigma must be a vector of {taskCount} entries, got {logSigma.Describe()}.");
        if (logSigma != null && !logSigma.RequiresGrad)
            throw new ArgumentException("Uncertainty weighting: logsigma must require a gradient so it is learned.");
        _ownsLogSigma = logSigma == null;
        LogSigma = logSigma ?? Parameter.From(Tensor.Full([taskCount], -0.5));
    }

    /// <summary>The learned log-variances s [tasks].</summary>
    public Tensor LogSigma { get; }

    /// <inheritdoc />
    public override string Name => "uncert";

    /// <summary>The effective loss weights 1/(2·e^{s_i}).</summary>
    public override IReadOnlyList<double> Weights => LogSigma.ToDoubleArray().Select(s => 0.5 * Math.Exp(-s)).ToArray();

    /// <inheritdoc />
    public override IReadOnlyList<Tensor> Parameters => _ownsLogSigma ? [LogSigma] : [];

    /// <inheritdoc />
    public override Tensor Combine(IReadOnlyList<Tensor> taskLosses)
    {
        CheckCount(taskLosses.Count);
        Tensor? total = null;
        for (int i = 0; i < TaskCount; i++)
        {
            var s = F.Reshape(F.Narrow(LogSigma, 0, i, 1), []);
            var loss = F.Reshape(taskLosses[i], []);
            var term = F.Add(F.Div(loss, F.Mul(F.Exp(s), 2.0)), F.Mul(s, 0.5));
            total = total == null ? term : F.Add(total, term);
        }
        return total!;
    }
}
