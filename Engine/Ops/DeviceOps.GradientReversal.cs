namespace Astmt.Engine.Ops;

// Device kernel of gradient reversal's fused backward (Ops/Elementwise/GradientReversalOp.cs, Autograd/GradAccumulation.cs).
public partial interface IDeviceOps
{
    /// <summary><paramref name="acc"/> = (<paramref name="accumulate"/> ? <paramref name="acc"/> : 0) − <paramref name="lambda"/>·<paramref name="g"/>
    /// in place (Kernels/grad_reversal.cu); <paramref name="acc"/> may be <paramref name="g"/> itself. Dense float32, same shape.</summary>
    void GradReverseAccumulate(Tensor acc, Tensor g, double lambda, bool accumulate) =>
        throw DeviceKernelMissing.Error("grad_reverse_accumulate", acc);
}
