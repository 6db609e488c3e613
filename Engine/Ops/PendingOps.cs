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

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => throw Pending("relu");
    /// <summary>1 / (1 + exp(-x)).</summary>
    public static Tensor Sigmoid(Tensor x) => throw Pending("sigmoid");
    /// <summary>exp(x).</summary>
    public static Tensor Exp(Tensor x) => throw Pending("exp");
    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x) => throw Pending("log");
    /// <summary>Square root.</summary>
    public static Tensor Sqrt(Tensor x) => throw Pending("sqrt");
    /// <summary>|x|.</summary>
    public static Tensor Abs(Tensor x) => throw Pending("abs");
    /// <summary>x².</summary>
    public static Tensor Square(Tensor x) => throw Pending("square");
    /// <summary>x^p.</summary>
    public static Tensor Pow(Tensor x, double p) => throw Pending("pow");
    /// <summary>Clamps into [min, max]; a null bound is open. Gradient 1 inside, 0 outside.</summary>
    public static Tensor Clamp(Tensor x, double? min, double? max) => throw Pending("clamp");
    /// <summary>1 where x != value, else 0 (same dtype as x; no gradient).</summary>
    public static Tensor NotEqual(Tensor x, double value) => throw Pending("ne");
    /// <summary>1 where x > value, else 0 (same dtype as x; no gradient).</summary>
    public static Tensor Greater(Tensor x, double value) => throw Pending("gt");
    /// <summary>Softmax along <paramref name="dim"/>.</summary>
    public static Tensor Softmax(Tensor x, int dim) => throw Pending("softmax");
    /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim) => throw Pending("log_softmax");
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
    /// <summary>Identity forward; backward multiplies the gradient by −<paramref name="alpha"/>.</summary>
    public static Tensor GradientReversal(Tensor x, double alpha) => throw Pending("gradient_reversal");
    /// <summary>x [B,C,H,W] scaled per channel by s [B,C] (squeeze-and-excitation).</summary>
    public static Tensor ChannelScale(Tensor x, Tensor scale) => throw Pending("channel_scale");
}
