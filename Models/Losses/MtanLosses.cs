using Astmt.Engine;
using Astmt.Engine.Ops;
using Astmt.Models.Mtan;

namespace Astmt.Models.Losses;

/// <summary>
/// The MTAN reference's task losses (<c>utils.py model_fit</c>, spec §2). Depth and normal losses average over the valid pixels of
/// the whole batch, where validity comes from the ground truth: a pixel is valid when its channel sum is non-zero (depth 0 and
/// normal (0,0,0) mark missing data).
/// </summary>
public static class MtanLosses
{
    /// <summary>Ignore index of the semantic labels (void pixels).</summary>
    public const int IgnoreIndex = -1;

    /// <summary>The validity mask [B,1,H,W] of a ground truth [B,C,H,W]: 1 where Σ_c gt ≠ 0, else 0 (no gradient; the ground truth
    /// must not require one).</summary>
    public static Tensor ValidMask(Tensor groundTruth)
    {
        if (groundTruth.Rank != 4) throw new ArgumentException($"MtanLosses.ValidMask: expected a ground truth [B,C,H,W], got {groundTruth.Describe()}.");
        // Not under NoGrad: the ground truth needs no gradient, so nothing is recorded either way, but with grad mode on (a training
        // step) the mask belongs to the step arena and returns to the pool with the graph; under NoGrad it would be caller-owned
        // and come back only through the finalizer, so every step would create new arrays and the pool would induce collections.
        return F.NotEqual(F.Sum(groundTruth, [1], keepDim: true), 0.0);
    }

    /// <summary>NLL of log-probabilities [B,classes,H,W] against labels [B,H,W] (Int64, or float holding integers as the reference
    /// loads them), ignoring −1, averaged over the counted pixels of the batch.</summary>
    public static Tensor Semantic(Tensor logProbabilities, Tensor labels)
    {
        var target = labels.DType == DType.Int64 ? labels : labels.To(DType.Int64);
        return F.NllLoss(logProbabilities, target, IgnoreIndex);
    }

    /// <summary>Σ|pred − gt|·mask / N_valid over the batch, with the mask from the depth ground truth [B,1,H,W].</summary>
    public static Tensor Depth(Tensor prediction, Tensor groundTruth)
    {
        CheckPair("Depth", prediction, groundTruth);
        var mask = ValidMask(groundTruth);
        return F.Div(F.Sum(F.Mul(F.Abs(F.Sub(prediction, groundTruth)), mask)), ValidCount("Depth", mask));
    }

    /// <summary>1 − Σ(pred·gt·mask) / N_valid: one minus the mean cosine over valid pixels (pred and gt are unit vectors [B,3,H,W]).</summary>
    public static Tensor Normal(Tensor prediction, Tensor groundTruth)
    {
        CheckPair("Normal", prediction, groundTruth);
        var mask = ValidMask(groundTruth);
        var meanCosine = F.Div(F.Sum(F.Mul(F.Mul(prediction, groundTruth), mask)), ValidCount("Normal", mask));
        return F.Affine(meanCosine, -1.0, 1.0);
    }

    /// <summary>The loss of <paramref name="task"/> for its prediction and ground truth.</summary>
    public static Tensor For(MtanTask task, Tensor prediction, Tensor groundTruth) => task switch
    {
        MtanTask.Semantic => Semantic(prediction, groundTruth),
        MtanTask.Depth => Depth(prediction, groundTruth),
        _ => Normal(prediction, groundTruth),
    };

    /// <summary>N_valid as a divisor. A batch with no valid pixel divides by zero in the reference (NaN); here it fails with a clear
    /// message instead of silently poisoning the weights.</summary>
    private static double ValidCount(string loss, Tensor mask)
    {
        double n = F.Sum(mask).Item();
        if (n == 0) throw new InvalidOperationException($"MtanLosses.{loss}: the ground truth of this batch has no valid pixel (all zero), so the loss is undefined.");
        return n;
    }

    private static void CheckPair(string loss, Tensor prediction, Tensor groundTruth)
    {
        if (!ShapeUtil.Same(prediction.Shape, groundTruth.Shape))
            throw new ArgumentException($"MtanLosses.{loss}: prediction {prediction.Describe()} and ground truth {groundTruth.Describe()} must have the same shape.");
    }
}
