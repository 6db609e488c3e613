using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.Ops;
using Astmt.Models.Losses;

namespace Astmt.Models.Astmt;

/// <summary>The losses of one task's step.</summary>
/// <param name="Total">What is backpropagated: (1 − d)·task + d·discriminator with an adversarial network, else the task loss.</param>
/// <param name="Task">LOSS_MULT × the task loss.</param>
/// <param name="Discriminator">The discriminator's cross-entropy, or null without adversarial training.</param>
/// <param name="Output">The forward result.</param>
/// <param name="DiscriminatorLogits">The discriminator's per-pixel logits [B,T,h,w], or null.</param>
/// <param name="DiscriminatorLabels">The labels it was scored against [B,h,w] (Int64, 255 = ignored), or null.</param>
public sealed record AstmtStepLosses(Tensor Total, Tensor Task, Tensor? Discriminator, AstmtOutput Output, Tensor? DiscriminatorLogits, Tensor? DiscriminatorLabels);

/// <summary>
/// Adversarial gradient alignment (spec §2, issue 6 item 2): the gradient of the weighted task loss with respect to the decoder's
/// last features is taken with create-graph, L2-normalised per pixel over channels (+1e-10), passed through gradient reversal
/// (scale alpha) into the discriminator, and scored by per-pixel cross-entropy against the task's index on the feature grid (the
/// nearest-resized ground truth; its 255 pixels are ignored). One backward of 0.99·task + 0.01·discriminator then trains the
/// discriminator to tell the tasks apart while the reversed second-order gradient trains the network to hide which task it serves.
/// </summary>
public static class AstmtAdversarial
{
    /// <summary>The discriminator's share of the total loss (0.01 on both datasets).</summary>
    public const double DefaultDiscriminatorWeight = 0.01;

    /// <summary>The reversal scale of Ganin et al.: 2/(1+exp(−10·p)) − 1 for training progress p ∈ [0,1].</summary>
    public static double Alpha(double progress) => 2.0 / (1.0 + Math.Exp(-10.0 * progress)) - 1.0;

    /// <summary>The reference's per-epoch progress (epoch+1)/epochs passed to <see cref="Alpha(double)"/>.</summary>
    public static double Alpha(int epoch, int epochs) => Alpha((epoch + 1) / (double)epochs);

    /// <summary>
    /// The discriminator's labels [B,h,w] (Int64): channel 0 of <paramref name="groundTruth"/> [B,C,H,W] resized to h×w with PyTorch's
    /// nearest rule, then every pixel that is not 255 set to <paramref name="taskIndex"/>. Unlike the reference (whose normals and
    /// depth losses overwrite 255 with 0 in place first, so those tasks get no ignored pixels; spec §7.11), void stays void here.
    /// </summary>
    public static Tensor Labels(Tensor groundTruth, int taskIndex, int height, int width)
    {
        if (groundTruth.Rank != 4) throw new ArgumentException($"AstmtAdversarial.Labels: expected a ground truth [B,C,H,W], got {groundTruth.Describe()}.");
        using var _ = Autograd.NoGrad();
        // The intermediates are disposed here: computed without a graph, nothing else would free them before the finalizer, and
        // a training step that left them to it would keep creating pool arrays (issue #3).
        using var first = F.Narrow(groundTruth, 1, 0, 1);
        // Dense before the resize: given a strided view, F.Interpolate makes a dense copy that only its finalizer frees.
        using var dense = first.DType == DType.Int64 ? first.To(DType.Float32) : first.IsContiguous ? null : F.Contiguous(first);
        using var resized = F.Interpolate(dense ?? first, height, width, ResizeMode.Nearest);
        using var valid = F.NotEqual(resized, AstmtLosses.IgnoreLabel);
        using var labels = F.Affine(valid, taskIndex - AstmtLosses.IgnoreLabel, AstmtLosses.IgnoreLabel); // valid → index, void → 255
        using var indices = labels.To(DType.Int64);
        return F.Reshape(indices, groundTruth.Shape[0], height, width); // a view: it keeps the storage alive
    }

    /// <summary>
    /// Runs <paramref name="task"/> on <paramref name="x"/> and builds its losses; backpropagate <see cref="AstmtStepLosses.Total"/>
    /// once. Without a discriminator in the network (or with <paramref name="adversarial"/> false) the total is the task loss alone.
    /// </summary>
    public static AstmtStepLosses Losses(AstmtNetwork network, Tensor x, Tensor groundTruth, string task, double alpha,
        bool adversarial = true, double discriminatorWeight = DefaultDiscriminatorWeight)
    {
        var spec = network.Config.Tasks[network.TaskIndex(task)];
        var output = network.Forward(x, task);
        var taskLoss = AstmtLosses.Weighted(spec, output.Prediction, groundTruth, network.Config.EdgePositiveWeight);
        if (!adversarial || network.Discriminator == null)
            return new AstmtStepLosses(taskLoss, taskLoss, null, output, null, null);

        var features = output.Features;
        var gradient = Autograd.Grad([taskLoss], [features], createGraph: true)[0]
                       ?? throw new InvalidOperationException($"AstmtAdversarial: the loss of '{task}' does not depend on the decoder features.");
        var unit = F.Div(gradient, F.Add(F.Norm(gradient, 1, keepDim: true), 1e-10));
        var logits = network.Discriminator.Forward(F.GradientReversal(unit, alpha));
        var labels = Labels(groundTruth, network.TaskIndex(task), features.Shape[2], features.Shape[3]);
        var discriminatorLoss = F.CrossEntropy(logits, labels, AstmtLosses.IgnoreLabel);
        var total = F.Add(F.Mul(taskLoss, 1 - discriminatorWeight), F.Mul(discriminatorLoss, discriminatorWeight));
        return new AstmtStepLosses(total, taskLoss, discriminatorLoss, output, logits, labels);
    }
}
