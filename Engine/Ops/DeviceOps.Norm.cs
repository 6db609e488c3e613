namespace Astmt.Engine.Ops;

// Batch-norm kernels of a device backend; each op calls them when its tensors are not on the host.
public partial interface IDeviceOps
{
    /// <summary>mean [C] and biased variance [C] of x [B,C,H,W] over B, H and W.</summary>
    void BatchNormStatistics(Tensor x, Tensor mean, Tensor variance) => throw DeviceKernelMissing.For(this, "batch_norm statistics");

    /// <summary>runningMean = (1 − momentum)·runningMean + momentum·mean; runningVar likewise with variance·<paramref name="unbias"/> (in place).</summary>
    void BatchNormUpdateRunning(Tensor mean, Tensor variance, Tensor runningMean, Tensor runningVar, double momentum, double unbias) =>
        throw DeviceKernelMissing.For(this, "batch_norm running-statistics update");

    /// <summary>invstd [C] = 1/√(variance + eps).</summary>
    void BatchNormInvStd(Tensor variance, double eps, Tensor invstd) => throw DeviceKernelMissing.For(this, "batch_norm invstd");

    /// <summary>y = (x − mean)·invstd·weight + bias per channel of x [B,C,H,W], then max(·, 0) when <paramref name="relu"/>.</summary>
    void BatchNormForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor invstd, Tensor y, bool relu) =>
        throw DeviceKernelMissing.For(this, "batch_norm forward");

    /// <summary>The fused batch-norm backward (masked by <paramref name="y"/> &gt; 0 when y is given, for BN+ReLU); any of
    /// gradInput, gradWeight [C] and gradBias [C] may be null.</summary>
    void BatchNormBackward(Tensor x, Tensor? y, Tensor gradOutput, Tensor? weight, Tensor mean, Tensor invstd, bool training,
        Tensor? gradInput, Tensor? gradWeight, Tensor? gradBias) => throw DeviceKernelMissing.For(this, "batch_norm backward");
}
