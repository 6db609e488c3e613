namespace Astmt.Engine.Ops;

// Convolution kernels of a device backend; each op calls them when its tensors are not on the host.
public partial interface IDeviceOps
{
    /// <summary>y [B,K,P,Q] = conv(x [B,C,H,W], weight [K,C,R,S]) + bias [K] (all contiguous, bias optional).</summary>
    void Conv2dForward(Tensor x, Tensor weight, Tensor? bias, Tensor y, Conv2dGeometry geometry) =>
        throw DeviceKernelMissing.For(this, "conv2d forward");

    /// <summary>gradInput [B,C,H,W] = transposed convolution of gradOutput [B,K,P,Q] with weight [K,C,R,S] (overwrites).</summary>
    void Conv2dBackwardData(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry geometry) =>
        throw DeviceKernelMissing.For(this, "conv2d backward-data");

    /// <summary>gradWeight [K,C,R,S] = Σ over batch and positions of gradOutput [B,K,P,Q] times the taps of x [B,C,H,W] (overwrites).</summary>
    void Conv2dBackwardWeight(Tensor x, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry geometry) =>
        throw DeviceKernelMissing.For(this, "conv2d backward-weight");
}
