using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.Ops;
using Astmt.Models.Astmt;

namespace Astmt.Models.Losses;

/// <summary>
/// ASTMT's task losses (spec §3.3, issue 6 item 4). Ground truths are float [B,C,H,W] with 255 marking void, as the reference loads
/// them. Every loss is composed of differentiable ops, so its gradient with respect to the prediction can itself be differentiated
/// (the adversarial step needs that).
/// </summary>
public static class AstmtLosses
{
    /// <summary>The void label.</summary>
    public const int IgnoreLabel = 255;

    /// <summary>
    /// Balanced binary cross-entropy on logits (reference <c>BalancedCrossEntropyLoss</c>, size_average): labels = gt ≥ 0.5;
    /// L = (w·Σ_pos BCE + (1−w)·Σ_neg BCE) / numel. With <paramref name="positiveWeight"/> null, w = #neg/#total over the whole
    /// batch (HED weighting, saliency); edges pass 0.95 (PASCAL) or 0.8 (NYUD).
    /// </summary>
    public static Tensor BalancedBce(Tensor logits, Tensor groundTruth, double? positiveWeight)
    {
        CheckSameShape("BalancedBce", logits, groundTruth);
        // Not under NoGrad (as MtanLosses): the ground truth needs no gradient, so nothing is recorded either way, but in a training
        // step the labels and weights then belong to the step arena and return to the pool with the graph instead of waiting for
        // their finalizers, which kept the ASTMT step creating pool arrays (issue #3).
        if (groundTruth.RequiresGrad) throw new ArgumentException($"AstmtLosses.BalancedBce: the ground truth must not require a gradient, got {groundTruth.Describe()}.");
        var labels = GreaterOrEqualHalf(groundTruth);
        double w = positiveWeight ?? NegativeFraction(labels);
        var weights = F.Affine(labels, 2 * w - 1, 1 - w); // w on positives, 1 − w on negatives
        var sum = F.BinaryCrossEntropyWithLogits(logits, labels, weights, LossReduction.Sum);
        return F.Div(sum, logits.Numel);
    }

    private static Tensor GreaterOrEqualHalf(Tensor groundTruth)
    {
        // gt ≥ 0.5  ⇔  not (gt < 0.5)  ⇔  1 − [0.5 − gt > 0]
        return F.Affine(F.Greater(F.Affine(groundTruth, -1, 0.5), 0.0), -1, 1);
    }

    private static double NegativeFraction(Tensor labels)
    {
        double positives = F.Sum(labels).Item();
        return (labels.Numel - positives) / labels.Numel;
    }

    /// <summary>Log-softmax + NLL over class logits [B,K,H,W] against labels [B,1,H,W] (float holding integers, or Int64), ignoring 255,
    /// averaged over the counted pixels.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor labels)
    {
        if (logits.Rank != 4 || labels.Rank != 4 || labels.Shape[1] != 1 || labels.Shape[0] != logits.Shape[0] || labels.Shape[2] != logits.Shape[2] || labels.Shape[3] != logits.Shape[3])
            throw new ArgumentException($"AstmtLosses.CrossEntropy: expected logits [B,K,H,W] and labels [B,1,H,W], got {logits.Describe()} and {labels.Describe()}.");
        if (labels.RequiresGrad) throw new ArgumentException($"AstmtLosses.CrossEntropy: the labels must not require a gradient, got {labels.Describe()}.");
        // Not under NoGrad (see BalancedBce): the labels need no gradient, so nothing is recorded, and in a training step the
        // view and the converted copy, the loss's alone, go back to the pool with the graph.
        var squeezed = F.Reshape(labels, labels.Shape[0], labels.Shape[2], labels.Shape[3]);
        var target = labels.DType == DType.Int64 ? squeezed : StepOwnership.Adopt(ToClassIndices(squeezed));
        return F.CrossEntropy(logits, target, IgnoreLabel);
    }

    /// <summary>Float labels holding integers as Int64 class indices. On the host a direct float → long loop: <see cref="Tensor.To(DType)"/>
    /// goes through a managed double[] of the whole map, garbage every step.</summary>
    private static Tensor ToClassIndices(Tensor labels)
    {
        if (!labels.Device.IsCpu || !labels.IsContiguous || labels.DType != DType.Float32) return labels.To(DType.Int64);
        var indices = Tensor.Empty(labels.Shape, DType.Int64);
        var from = labels.Span<float>();
        var to = indices.Span<long>();
        for (int i = 0; i < from.Length; i++) to[i] = (long)from[i];
        return indices;
    }

    /// <summary>
    /// Normals (reference <c>NormalsLoss(normalize=True, norm=1)</c>): output and ground truth are zeroed where the ground truth is 255,
    /// the output is divided by (‖out‖₂ over channels + 1e-12), and the L1 sum is divided by the number of valid elements.
    /// The ground truth is not modified (the reference overwrites it in place; see <see cref="AstmtAdversarial.Labels"/>).
    /// </summary>
    public static Tensor Normals(Tensor prediction, Tensor groundTruth)
    {
        CheckSameShape("Normals", prediction, groundTruth);
        // Not under NoGrad: see BalancedBce (the masks then belong to the step arena).
        if (groundTruth.RequiresGrad) throw new ArgumentException($"AstmtLosses.Normals: the ground truth must not require a gradient, got {groundTruth.Describe()}.");
        var mask = F.NotEqual(groundTruth, IgnoreLabel);
        var gt = F.Mul(groundTruth, mask);
        double valid = Math.Max(F.Sum(mask).Item(), 1e-6);
        // 1 at pixels with no valid channel, else 0. There the masked output is the zero vector and 0/(0 + 1e-12) = 0 either
        // way; dividing by 1 instead keeps the second derivative (which divides by powers of the denominator) finite.
        var voidShift = F.Affine(F.NotEqual(F.Sum(mask, [1], keepDim: true), 0), -1, 1);
        var masked = F.Mul(prediction, mask);
        var normalized = F.Div(masked, F.Add(F.Add(F.Norm(masked, 1, keepDim: true), voidShift), 1e-12));
        return F.Div(F.Sum(F.Abs(F.Sub(normalized, gt))), valid);
    }

    /// <summary>
    /// Depth: L1 over valid pixels (gt ≠ 255) divided by their number, plus the Sobel-gradient loss (reference <c>GradLoss</c>): with
    /// void set to 0 in the ground truth, Σ|∇ₓout − ∇ₓgt| + |∇ᵧout − ∇ᵧgt| over all pixels (3×3 Sobel, zero padding 1) divided by the
    /// number of valid pixels.
    /// </summary>
    public static Tensor Depth(Tensor prediction, Tensor groundTruth)
    {
        CheckSameShape("Depth", prediction, groundTruth);
        if (prediction.Shape[1] != 1) throw new ArgumentException($"AstmtLosses.Depth: expected one channel [B,1,H,W], got {prediction.Describe()}.");
        // Not under NoGrad: see BalancedBce (the masks then belong to the step arena).
        if (groundTruth.RequiresGrad) throw new ArgumentException($"AstmtLosses.Depth: the ground truth must not require a gradient, got {groundTruth.Describe()}.");
        var mask = F.NotEqual(groundTruth, IgnoreLabel);
        var gt = F.Mul(groundTruth, mask);
        double valid = Math.Max(F.Sum(mask).Item(), 1e-6);
        var sobel = SobelKernel(prediction.DType, prediction.Device);
        var gtGradient = F.Conv2d(gt, sobel, null, 1, 1);
        var l1 = F.Div(F.Sum(F.Mul(F.Abs(F.Sub(prediction, gt)), mask)), valid);
        var gradient = F.Div(F.Sum(F.Abs(F.Sub(F.Conv2d(prediction, sobel, null, 1, 1), gtGradient))), valid);
        return F.Add(l1, gradient);
    }

    /// <summary>The two Sobel filters [2,1,3,3] (horizontal then vertical derivative).</summary>
    private static Tensor SobelKernel(DType dtype, Device device)
    {
        var k = Tensor.FromArray(new double[]
        {
            1, 0, -1, 2, 0, -2, 1, 0, -1,
            1, 2, 1, 0, 0, 0, -1, -2, -1,
        }, 2, 1, 3, 3);
        var typed = dtype == DType.Float64 ? k : k.To(dtype);
        if (!ReferenceEquals(typed, k)) k.Dispose();
        var placed = device.IsCpu ? typed : typed.To(device); // next to the prediction, so the depth loss runs on its device
        if (!ReferenceEquals(placed, typed)) typed.Dispose();
        return StepOwnership.Adopt(placed); // in a training step, freed with the graph like the other temporaries
    }

    /// <summary>The unweighted loss of <paramref name="task"/>; <paramref name="edgePositiveWeight"/> is the edge task's w.</summary>
    public static Tensor For(AstmtTask task, Tensor prediction, Tensor groundTruth, double edgePositiveWeight) => task.Kind switch
    {
        AstmtTaskKind.Edge => BalancedBce(prediction, groundTruth, edgePositiveWeight),
        AstmtTaskKind.Saliency => BalancedBce(prediction, groundTruth, null),
        AstmtTaskKind.Semseg or AstmtTaskKind.HumanParts => CrossEntropy(prediction, groundTruth),
        AstmtTaskKind.Normals => Normals(prediction, groundTruth),
        AstmtTaskKind.Depth => Depth(prediction, groundTruth),
        _ => throw new ArgumentOutOfRangeException(nameof(task), task.Kind, "AstmtLosses: unknown task kind."),
    };

    /// <summary>LOSS_MULT[task] × the loss of <paramref name="task"/>.</summary>
    public static Tensor Weighted(AstmtTask task, Tensor prediction, Tensor groundTruth, double edgePositiveWeight) =>
        F.Mul(For(task, prediction, groundTruth, edgePositiveWeight), task.LossWeight);

    private static void CheckSameShape(string loss, Tensor prediction, Tensor groundTruth)
    {
        if (prediction.Rank != 4 || !prediction.Shape.AsSpan().SequenceEqual(groundTruth.Shape))
            throw new ArgumentException($"AstmtLosses.{loss}: prediction and ground truth must both be [B,C,H,W] of the same shape, got {prediction.Describe()} and {groundTruth.Describe()}.");
    }
}
