using Astmt.Engine;

namespace Astmt.Models.Mtan;

/// <summary>What a multi-task SegNet returns (the reference's <c>([t1, t2, t3], logsigma)</c>).</summary>
/// <param name="Predictions">One prediction per task, in the network's task order: semantic log-probabilities [B,classes,H,W],
/// depth [B,1,H,W], unit normals [B,3,H,W].</param>
/// <param name="LogSigma">The learned log-variances [tasks] of uncertainty weighting, or null for single-task networks.</param>
public sealed record MultiTaskOutput(IReadOnlyList<Tensor> Predictions, Tensor? LogSigma);
