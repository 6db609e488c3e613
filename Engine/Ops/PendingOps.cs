namespace Astmt.Engine.Ops;

/// <summary>How a loss reduces its per-element values.</summary>
public enum LossReduction
{
    /// <summary>Mean over the counted elements (ignored ones excluded).</summary>
    Mean,
    /// <summary>Sum over the counted elements.</summary>
    Sum,
    /// <summary>No reduction: the per-element loss map.</summary>
    None,
}

// Signatures agreed for the parallel work of this session; the elementwise/loss work replaces each body with the real op and
// deletes this file when it is empty.
public static partial class F
{
    private static NotImplementedException Pending(string op) => new($"{op} is being written (engine-core issue).");

    /// <summary>Max values along <paramref name="dim"/>.</summary>
    public static Tensor Max(Tensor x, int dim, bool keepDim = false) => throw Pending("max");
    /// <summary>Index of the max along <paramref name="dim"/> (Int64, no gradient).</summary>
    public static Tensor ArgMax(Tensor x, int dim, bool keepDim = false) => throw Pending("argmax");
    /// <summary>Negative log-likelihood of log-probabilities [B,C,...] against Int64 targets [B,...]; targets equal to
    /// <paramref name="ignoreIndex"/> are skipped (mean over the rest, as PyTorch).</summary>
    public static Tensor NllLoss(Tensor logProbs, Tensor target, int ignoreIndex = -100, LossReduction reduction = LossReduction.Mean) =>
        throw Pending("nll_loss");
    /// <summary>log_softmax over dim 1 then NLL.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, int ignoreIndex = -100, LossReduction reduction = LossReduction.Mean) =>
        throw Pending("cross_entropy");
    /// <summary>Binary cross-entropy on logits with optional per-element weights (PyTorch's binary_cross_entropy_with_logits).</summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target, Tensor? weight = null, LossReduction reduction = LossReduction.Mean) =>
        throw Pending("binary_cross_entropy_with_logits");
    /// <summary>sum(|pred − target|·mask) / sum(mask): L1 over the valid elements.</summary>
    public static Tensor MaskedL1(Tensor prediction, Tensor target, Tensor mask) => throw Pending("masked_l1");
    /// <summary>x / max(‖x‖₂ along dim, eps) (PyTorch's F.normalize).</summary>
    public static Tensor L2Normalize(Tensor x, int dim = 1, double eps = 1e-12) => throw Pending("l2_normalize");
    /// <summary>Matrix product of [M,K] and [K,N].</summary>
    public static Tensor MatMul(Tensor a, Tensor b) => throw Pending("matmul");
    /// <summary>x [B,In] · weightᵀ [Out,In] + bias [Out].</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias) => throw Pending("linear");
    /// <summary>x [B,C,H,W] scaled per channel by s [B,C] (squeeze-and-excitation).</summary>
    public static Tensor ChannelScale(Tensor x, Tensor scale) => throw Pending("channel_scale");
}
