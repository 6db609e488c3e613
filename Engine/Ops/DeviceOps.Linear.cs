using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

// Device kernels of matmul and linear (Ops/Linear).
public partial interface IDeviceOps
{
    /// <summary>c = op(a)·op(b) + beta·c, row-major: op(a) is M×K read from a (offset included) with leading dimension lda,
    /// op(b) K×N likewise, c dense M×N. Linear's bias is pre-filled into c with beta = 1.</summary>
    void Gemm(Transpose ta, Transpose tb, int m, int n, int k, Tensor a, int lda, Tensor b, int ldb, Tensor c, double beta) =>
        throw DeviceKernelMissing.Error("gemm", c);
}
