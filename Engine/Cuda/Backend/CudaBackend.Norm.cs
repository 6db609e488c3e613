namespace Astmt.Engine.Cuda.Backend;

// Batch norm (Kernels/batchnorm.cu).
public sealed partial class CudaBackend
{
    private static (int B, int C, int HW) Nchw(string op, Tensor x)
    {
        if (x.Rank < 2) throw new ArgumentException($"{op}: expected [B,C,...], got {x.Describe()}.");
        int hw = 1;
        for (int i = 2; i < x.Rank; i++) hw *= x.Shape[i];
        return (x.Shape[0], x.Shape[1], hw);
    }

    /// <inheritdoc />
    public void BatchNormStatistics(Tensor x, Tensor mean, Tensor variance)
    {
        var (b, c, hw) = Nchw("batch_norm", x);
        LaunchPerItem("bn_stats", c, 0, new KernelArgs().Ptr(F32("batch_norm", mean)).Ptr(F32("batch_norm", variance)).Ptr(F32("batch_norm", x))
            .Int(b).Int(c).Int(hw));
    }

    /// <inheritdoc />
    public void BatchNormUpdateRunning(Tensor mean, Tensor variance, Tensor runningMean, Tensor runningVar, double momentum, double unbias) =>
        LaunchElements("bn_update_running", mean.Numel, new KernelArgs().Ptr(F32("batch_norm", runningMean)).Ptr(F32("batch_norm", runningVar))
            .Ptr(F32("batch_norm", mean)).Ptr(F32("batch_norm", variance)).Int(mean.Numel).Float((float)momentum).Float((float)unbias));

    /// <inheritdoc />
    public void BatchNormInvStd(Tensor variance, double eps, Tensor invstd) =>
        LaunchElements("bn_invstd", variance.Numel, new KernelArgs().Ptr(F32("batch_norm", invstd)).Ptr(F32("batch_norm", variance))
            .Float((float)eps).Int(variance.Numel));

    /// <inheritdoc />
    public void BatchNormForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor invstd, Tensor y, bool relu)
    {
        var (_, c, hw) = Nchw("batch_norm", x);
        LaunchElements("bn_forward", y.Numel, new KernelArgs().Ptr(F32("batch_norm", y)).Ptr(F32("batch_norm", x)).Ptr(F32("batch_norm", mean))
            .Ptr(F32("batch_norm", invstd)).Ptr(PtrOrNull(weight)).Ptr(PtrOrNull(bias)).Long(y.Numel).Int(c).Int(hw).Int(relu ? 1 : 0));
    }

    /// <inheritdoc />
    public void BatchNormBackward(Tensor x, Tensor? y, Tensor gradOutput, Tensor? weight, Tensor mean, Tensor invstd, bool training,
        Tensor? gradInput, Tensor? gradWeight, Tensor? gradBias)
    {
        var (b, c, hw) = Nchw("batch_norm backward", x);
        using var sumDyXhat = Temp(c);
        using var sumDy = Temp(c);
        LaunchPerItem("bn_bwd_reduce", c, 0, new KernelArgs().Ptr(sumDyXhat.DevicePointer).Ptr(sumDy.DevicePointer)
            .Ptr(F32("batch_norm backward", gradOutput)).Ptr(F32("batch_norm backward", x)).Ptr(PtrOrNull(y))
            .Ptr(F32("batch_norm backward", mean)).Ptr(F32("batch_norm backward", invstd)).Int(b).Int(c).Int(hw));
        if (gradWeight != null) Context.CopyDeviceToDevice(F32("batch_norm backward", gradWeight), sumDyXhat.DevicePointer, (long)c * 4);
        if (gradBias != null) Context.CopyDeviceToDevice(F32("batch_norm backward", gradBias), sumDy.DevicePointer, (long)c * 4);
        if (gradInput != null)
            LaunchElements("bn_bwd_dx", gradInput.Numel, new KernelArgs().Ptr(F32("batch_norm backward", gradInput))
                .Ptr(F32("batch_norm backward", gradOutput)).Ptr(F32("batch_norm backward", x)).Ptr(PtrOrNull(y))
                .Ptr(F32("batch_norm backward", mean)).Ptr(F32("batch_norm backward", invstd)).Ptr(PtrOrNull(weight))
                .Ptr(sumDyXhat.DevicePointer).Ptr(sumDy.DevicePointer).Long(gradInput.Numel).Int(c).Int(hw).Int(b * hw).Int(training ? 1 : 0));
    }
}
