namespace Astmt.Engine.Cuda.Backend;

// Gradient reversal fused into gradient accumulation (Kernels/grad_reversal.cu).
public sealed partial class CudaBackend
{
    /// <inheritdoc />
    public void GradReverseAccumulate(Tensor acc, Tensor g, double lambda, bool accumulate) =>
        LaunchElements("grad_reverse_accumulate", acc.Numel, new KernelArgs().Ptr(F32("gradient_reversal", acc)).Ptr(F32("gradient_reversal", g))
            .Float((float)lambda).Long(acc.Numel).Int(accumulate ? 1 : 0));
}
