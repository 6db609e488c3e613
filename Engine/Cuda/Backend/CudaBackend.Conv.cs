using Astmt.Engine.Ops;

namespace Astmt.Engine.Cuda.Backend;

// Convolution as implicit GEMM (Kernels/conv.cu).
public sealed partial class CudaBackend
{
    private const int ConvTile = 16;

    private static KernelArgs Geometry(KernelArgs args, Conv2dGeometry g) =>
        args.Int(g.B).Int(g.C).Int(g.H).Int(g.W).Int(g.K).Int(g.R).Int(g.S).Int(g.P).Int(g.Q).Int(g.Stride).Int(g.Padding).Int(g.Dilation);

    private static uint Tiles(long n) => (uint)((n + ConvTile - 1) / ConvTile);

    /// <inheritdoc />
    public void Conv2dForward(Tensor x, Tensor weight, Tensor? bias, Tensor y, Conv2dGeometry g) =>
        Launch("conv2d_fwd", new Dim3(Tiles((long)g.B * g.P * g.Q), Tiles(g.K)), new Dim3(ConvTile, ConvTile), 0,
            Geometry(new KernelArgs().Ptr(F32("conv2d", y)).Ptr(F32("conv2d", x)).Ptr(F32("conv2d", weight)).Ptr(PtrOrNull(bias)), g));

    /// <inheritdoc />
    public void Conv2dBackwardData(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry g) =>
        Launch("conv2d_bwd_data", new Dim3(Tiles((long)g.B * g.H * g.W), Tiles(g.C)), new Dim3(ConvTile, ConvTile), 0,
            Geometry(new KernelArgs().Ptr(F32("conv2d backward", gradInput)).Ptr(F32("conv2d backward", gradOutput)).Ptr(F32("conv2d backward", weight)), g));

    /// <inheritdoc />
    public void Conv2dBackwardWeight(Tensor x, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry g)
    {
        // Split the B·P·Q reduction so the grid has enough blocks; each split adds atomically into a zeroed gradient.
        uint gridX = Tiles((long)g.C * g.R * g.S), gridY = Tiles(g.K);
        long reductionTiles = Tiles((long)g.B * g.P * g.Q);
        long wanted = Math.Max(1, Context.MaxGridStrideBlocks / Math.Max(1, (long)gridX * gridY));
        uint splits = (uint)Math.Clamp(Math.Min(wanted, reductionTiles / 4), 1, 64);
        if (splits > 1) Fill(gradWeight, 0);
        Launch("conv2d_bwd_weight", new Dim3(gridX, gridY, splits), new Dim3(ConvTile, ConvTile), 0,
            Geometry(new KernelArgs().Ptr(F32("conv2d backward", gradWeight)).Ptr(F32("conv2d backward", gradOutput)).Ptr(F32("conv2d backward", x)), g));
    }
}
