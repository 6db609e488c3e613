namespace Astmt.Engine.Ops;

// Device kernels of the losses (Ops/Loss). BCE-with-logits runs through IDeviceOps.Pair; masked L1 is composed of other ops.
public partial interface IDeviceOps
{
    /// <summary>Per-target NLL of dense log-probabilities [outer, classes, inner] against dense Int64 targets [outer, inner]
    /// into dense losses [outer, inner] (0 at <paramref name="ignoreIndex"/>); returns how many targets were counted and throws
    /// for a target outside [0, classes) that is not ignored.</summary>
    long NllLoss(Tensor logProbs, Tensor target, Tensor losses, int outer, int classes, int inner, int ignoreIndex) =>
        throw DeviceKernelMissing.Error("nll_loss", logProbs);

    /// <summary>Writes <paramref name="scale"/> into zero-filled dense weights [outer, classes, inner] at each target class that
    /// is not <paramref name="ignoreIndex"/> (the NLL backward map).</summary>
    void NllGradWeights(Tensor target, Tensor weights, int outer, int classes, int inner, int ignoreIndex, double scale) =>
        throw DeviceKernelMissing.Error("nll_grad_weights", weights);
}
