using Astmt.Engine.Ops;

namespace Astmt.Engine.NN;

/// <summary>
/// The Conv+BN fusion for evaluation-mode inference at module level: a <see cref="Conv2d"/> followed by a <see cref="BatchNorm2d"/>
/// becomes one convolution whose weight and bias absorb the batch norm's running statistics and affine parameters
/// (<see cref="F.FoldBatchNormIntoConv"/>), so inference runs one op and one pass over the output instead of two.
/// </summary>
public static class ConvBatchNormFold
{
    /// <summary>A new convolution (with bias) equal to <paramref name="bn"/>(<paramref name="conv"/>(x)) in evaluation mode. The
    /// inputs are not modified; the result is a snapshot of the current running statistics.</summary>
    public static Conv2d Fold(Conv2d conv, BatchNorm2d bn)
    {
        if (bn.NumFeatures != conv.OutChannels)
            throw new ArgumentException($"ConvBatchNormFold: BatchNorm2d({bn.NumFeatures}) cannot follow Conv2d({conv.InChannels}→{conv.OutChannels}).");
        if (bn.RunningMean is not { } mean || bn.RunningVar is not { } variance)
            throw new InvalidOperationException($"ConvBatchNormFold: BatchNorm2d({bn.NumFeatures}) tracks no running statistics, so evaluation mode has nothing to fold.");
        var (w, b) = F.FoldBatchNormIntoConv(conv.Weight, conv.Bias, bn.Weight, bn.Bias, mean, variance, bn.Eps);
        Conv2d folded;
        using (Init.Skip())
            folded = new Conv2d(conv.InChannels, conv.OutChannels, conv.KernelSize, conv.Stride, conv.Padding, conv.Dilation, bias: true);
        using (w)
        using (b)
        {
            folded.Weight.CopyFrom(w);
            folded.Bias!.CopyFrom(b);
        }
        folded.Eval();
        return folded;
    }

    /// <summary>
    /// A copy of <paramref name="sequential"/> for inference in which every Conv2d immediately followed by a BatchNorm2d is folded,
    /// the batch norm's slot becoming an <see cref="Identity"/> so later layers keep their indices. Nested Sequentials are folded
    /// too; other layers are shared with the original, not copied.
    /// </summary>
    public static Sequential Fold(Sequential sequential)
    {
        var result = new Sequential();
        for (int i = 0; i < sequential.Count; i++)
        {
            var layer = sequential[i];
            if (layer is Conv2d conv && i + 1 < sequential.Count && sequential[i + 1] is BatchNorm2d bn)
            {
                result.Append(Fold(conv, bn));
                result.Append(new Identity());
                i++;
            }
            else result.Append(layer is Sequential inner ? Fold(inner) : layer);
        }
        result.Eval();
        return result;
    }
}
