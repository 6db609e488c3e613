using Astmt.Engine.Ops;

namespace Astmt.Engine.Cuda.Backend;

// Bilinear and nearest resizing (Kernels/resize.cu).
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    public void ResizeForward(Tensor x, Tensor y, ResizeGeometry g)
    {
        var args = new KernelArgs().Ptr(F32("interpolate", y)).Ptr(F32("interpolate", x)).Int(g.B * g.C).Int(g.InH).Int(g.InW).Int(g.OutH).Int(g.OutW);
        if (g.Mode == ResizeMode.Bilinear)
            LaunchElements("resize_bilinear_fwd", y.Numel, args.Int(g.AlignCorners ? 1 : 0).Float((float)g.StepH).Float((float)g.StepW));
        else
            LaunchElements("resize_nearest_fwd", y.Numel, args.Float((float)g.StepH).Float((float)g.StepW));
    }

    /// <inheritdoc />
    public void ResizeBackward(Tensor gradOutput, Tensor gradInput, ResizeGeometry g)
    {
        Fill(gradInput, 0);
        var args = new KernelArgs().Ptr(F32("interpolate backward", gradInput)).Ptr(F32("interpolate backward", gradOutput))
            .Int(g.B * g.C).Int(g.InH).Int(g.InW).Int(g.OutH).Int(g.OutW);
        if (g.Mode == ResizeMode.Bilinear)
            LaunchElements("resize_bilinear_bwd", gradOutput.Numel, args.Int(g.AlignCorners ? 1 : 0).Float((float)g.StepH).Float((float)g.StepW));
        else
            LaunchElements("resize_nearest_bwd", gradOutput.Numel, args.Float((float)g.StepH).Float((float)g.StepW));
    }
}
