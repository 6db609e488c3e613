namespace Astmt.Engine.Ops;

// Resize kernels of a device backend; each op calls them when its tensors are not on the host.
public partial interface IDeviceOps
{
    /// <summary>y [B,C,OutH,OutW] = resize(x [B,C,InH,InW]) as <paramref name="geometry"/> says (contiguous).</summary>
    void ResizeForward(Tensor x, Tensor y, ResizeGeometry geometry) => throw DeviceKernelMissing.For(this, "interpolate forward");

    /// <summary>gradInput [B,C,InH,InW] = transposed resize of gradOutput [B,C,OutH,OutW] (overwrites).</summary>
    void ResizeBackward(Tensor gradOutput, Tensor gradInput, ResizeGeometry geometry) => throw DeviceKernelMissing.For(this, "interpolate backward");
}
