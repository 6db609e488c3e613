using Astmt.Engine.Ops;

namespace Astmt.Engine.NN;

/// <summary>Fused ops driven by existing modules, so a network can use them while keeping its modules (and state-dict keys).</summary>
public static class FusedLayers
{
    /// <summary>
    /// <c>shared ⊙ σ(bn(conv(h)))</c> through <see cref="F.AttentionGate"/>, with <paramref name="conv"/> a 1x1 convolution and
    /// <paramref name="bn"/> in its own training or evaluation mode (in training its running statistics and batch counter update
    /// exactly as <see cref="BatchNorm2d.ForwardCore"/> does).
    /// </summary>
    public static Tensor AttentionGate(Conv2d conv, BatchNorm2d bn, Tensor h, Tensor shared)
    {
        if (conv.KernelSize != 1 || conv.Stride != 1 || conv.Padding != 0 || conv.Dilation != 1)
            throw new ArgumentException($"FusedLayers.AttentionGate: the gate's convolution must be 1x1 with stride 1, no padding and no dilation; got " +
                                        $"kernel {conv.KernelSize}, stride {conv.Stride}, padding {conv.Padding}, dilation {conv.Dilation}.");
        if (bn.NumFeatures != conv.OutChannels)
            throw new ArgumentException($"FusedLayers.AttentionGate: BatchNorm2d({bn.NumFeatures}) cannot follow Conv2d({conv.InChannels}→{conv.OutChannels}).");
        bool batchStatistics = bn.Training || bn.RunningMean == null;
        if (bn.Training && bn.NumBatchesTracked is { } counter) IncrementCounter(counter);
        var y = F.AttentionGate(h, conv.Weight, conv.Bias, bn.Weight, bn.Bias, bn.RunningMean, bn.RunningVar, batchStatistics, shared, bn.Momentum, bn.Eps);
        // Counted as Conv2d.Forward counts it, so model complexity figures do not change with the fusion.
        FlopCounter.Current?.Add((long)y.Shape[0] * conv.OutChannels * y.Shape[2] * y.Shape[3] * conv.InChannels);
        return y;
    }

    private static void IncrementCounter(Tensor counter)
    {
        if (counter.Device.IsCpu) counter.Span<long>()[0]++;
        else DeviceOps.For(counter).AddScalarInt64(counter, 1); // on the device: no host round trip per batch norm
    }
}
