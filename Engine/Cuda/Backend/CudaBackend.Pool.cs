namespace Astmt.Engine.Cuda.Backend;

// Max pooling with indices, scatter-add and gather by index (Kernels/pool.cu).
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    public void MaxPool2dForward(Tensor x, Tensor y, Tensor indices, int kernel, int stride, int padding)
    {
        int bc = x.Shape[0] * x.Shape[1];
        LaunchElements("maxpool2d_fwd", y.Numel, new KernelArgs().Ptr(F32("max_pool2d", y)).Ptr(Ptr(Dense("max_pool2d", indices)))
            .Ptr(F32("max_pool2d", x)).Int(bc).Int(x.Shape[2]).Int(x.Shape[3]).Int(y.Shape[2]).Int(y.Shape[3]).Int(kernel).Int(stride).Int(padding));
    }

    /// <inheritdoc />
    public void IndexScatterAdd2d(Tensor values, Tensor indices, Tensor output)
    {
        Fill(output, 0);
        int bc = values.Shape[0] * values.Shape[1];
        LaunchElements("maxpool2d_bwd", values.Numel, new KernelArgs().Ptr(F32("scatter_add", output)).Ptr(F32("scatter_add", values))
            .Ptr(Ptr(Dense("scatter_add", indices))).Int(bc).Int(output.Shape[2] * output.Shape[3]).Int(values.Shape[2] * values.Shape[3]));
    }

    /// <inheritdoc />
    public void IndexGather2d(Tensor x, Tensor indices, Tensor y)
    {
        int bc = y.Shape[0] * y.Shape[1];
        LaunchElements("maxunpool2d_bwd", y.Numel, new KernelArgs().Ptr(F32("gather", y)).Ptr(F32("gather", x)).Ptr(Ptr(Dense("gather", indices)))
            .Int(bc).Int(y.Shape[2] * y.Shape[3]).Int(x.Shape[2] * x.Shape[3]));
    }
}
