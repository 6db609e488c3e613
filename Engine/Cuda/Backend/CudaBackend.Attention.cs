using Astmt.Engine.Cpu;
using Astmt.Engine.Ops;

namespace Astmt.Engine.Cuda.Backend;

// Channel scaling (Kernels/se.cu), GEMM (Kernels/gemm.cu), NLL (Kernels/loss.cu), max/one-hot/norm along an axis (Kernels/reduce.cu).
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    public void ChannelScale(Tensor x, Tensor scale, Tensor y)
    {
        int hw = x.Rank > 2 ? x.Numel / (x.Shape[0] * x.Shape[1]) : 1;
        LaunchElements("se_scale", y.Numel, new KernelArgs().Ptr(F32("channel_scale", y)).Ptr(F32("channel_scale", x)).Ptr(F32("channel_scale", scale))
            .Long(y.Numel).Int(hw));
    }

    /// <inheritdoc />
    public void ChannelDot(Tensor a, Tensor b, Tensor y)
    {
        int bc = a.Shape[0] * a.Shape[1];
        int hw = bc == 0 ? 0 : a.Numel / bc;
        long blocks = Math.Clamp((bc * 32L + 255) / 256, 1, Context.MaxGridStrideBlocks);
        Launch("se_bwd_reduce", new Dim3((uint)blocks), new Dim3(256), 0,
            new KernelArgs().Ptr(F32("channel_dot", y)).Ptr(F32("channel_dot", a)).Ptr(F32("channel_dot", b)).Int(bc).Int(hw));
    }

    /// <inheritdoc />
    public void Gemm(Transpose ta, Transpose tb, int m, int n, int k, Tensor a, int lda, Tensor b, int ldb, Tensor c, double beta)
    {
        if (m == 0 || n == 0) return;
        Launch("gemm_tiled", new Dim3((uint)((n + 15) / 16), (uint)((m + 15) / 16)), new Dim3(16, 16), 0,
            new KernelArgs().Ptr(F32("gemm", c)).Ptr(Ptr(a)).Ptr(Ptr(b)).Int(m).Int(n).Int(k).Int(lda).Int(ldb)
                .Int(ta == Transpose.Yes ? 1 : 0).Int(tb == Transpose.Yes ? 1 : 0).Float(1f).Float((float)beta));
    }

    /// <inheritdoc />
    public long NllLoss(Tensor logProbs, Tensor target, Tensor losses, int outer, int classes, int inner, int ignoreIndex)
    {
        using var acc = Temp(3);
        acc.Clear();
        LaunchElements("nll_fwd", (long)outer * inner, new KernelArgs().Ptr(acc.DevicePointer).Ptr(F32("nll_loss", losses))
            .Ptr(F32("nll_loss", logProbs)).Ptr(Ptr(Dense("nll_loss", target))).Int(outer).Int(classes).Int(inner).Int(ignoreIndex));
        var result = acc.ToArray();
        if (result[2] > 0)
            throw new ArgumentException($"nll_loss: {result[2]:F0} target(s) outside [0, {classes}) that are not ignore_index {ignoreIndex} " +
                                        $"(targets {target.Describe()}).");
        return (long)result[1];
    }

    /// <inheritdoc />
    public void NllGradWeights(Tensor target, Tensor weights, int outer, int classes, int inner, int ignoreIndex, double scale)
    {
        // The op allocates the map uncleared on devices (clear: device.IsCpu): zero it here. nll_bwd writes −grad·scale, so −scale
        // gives the +scale weights asked for.
        Fill(weights, 0);
        LaunchElements("nll_bwd", (long)outer * inner, new KernelArgs().Ptr(F32("nll_grad", weights)).Ptr(0).Ptr(Ptr(Dense("nll_grad", target)))
            .Float((float)-scale).Int(outer).Int(classes).Int(inner).Int(ignoreIndex));
    }

    /// <inheritdoc />
    public void MaxAlong(Tensor x, Tensor? values, Tensor indices, int outer, int size, int inner) =>
        LaunchElements("max_along", (long)outer * inner, new KernelArgs().Ptr(PtrOrNull(values)).Ptr(Ptr(Dense("max", indices)))
            .Ptr(F32("max", x)).Int(outer).Int(size).Int(inner));

    /// <inheritdoc />
    public void OneHotAlong(Tensor indices, Tensor y, int outer, int size, int inner)
    {
        Fill(y, 0); // allocated uncleared on devices by the op
        LaunchElements("one_hot_along", (long)outer * inner, new KernelArgs().Ptr(F32("one_hot", y)).Ptr(Ptr(Dense("one_hot", indices)))
            .Int(outer).Int(size).Int(inner));
    }

    /// <inheritdoc />
    public void Norm(Tensor x, Tensor y, int outer, int size, int inner) =>
        LaunchElements("norm_along", (long)outer * inner, new KernelArgs().Ptr(F32("norm", y)).Ptr(F32("norm", x)).Int(outer).Int(size).Int(inner));
}
