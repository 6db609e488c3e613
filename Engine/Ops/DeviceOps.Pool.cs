namespace Astmt.Engine.Ops;

// Pooling kernels of a device backend; each op calls them when its tensors are not on the host.
public partial interface IDeviceOps
{
    /// <summary>y and indices [B,C,P,Q] (indices Int64, h·W + w within the plane) = max of each window of x [B,C,H,W].</summary>
    void MaxPool2dForward(Tensor x, Tensor y, Tensor indices, int kernel, int stride, int padding) =>
        throw DeviceKernelMissing.For(this, "max_pool2d forward");

    /// <summary>output [B,C,H,W] = 0, then output[b,c,indices[b,c,j]] += values[b,c,j] for values, indices [B,C,P,Q].</summary>
    void IndexScatterAdd2d(Tensor values, Tensor indices, Tensor output) => throw DeviceKernelMissing.For(this, "index scatter-add (max_pool2d backward, max_unpool2d)");

    /// <summary>y[b,c,j] = x[b,c,indices[b,c,j]] for y, indices [B,C,P,Q] and x [B,C,H,W].</summary>
    void IndexGather2d(Tensor x, Tensor indices, Tensor y) => throw DeviceKernelMissing.For(this, "index gather (max_unpool2d backward)");
}
