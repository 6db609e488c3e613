namespace Astmt.Engine.Ops;

// Device kernels of the elementwise, activation and mask ops (Ops/Elementwise, Ops/Activation).
public partial interface IDeviceOps
{
    /// <summary>y = f(x) elementwise for one <see cref="F.UnaryKind"/>; <paramref name="p"/> and <paramref name="q"/> are its
    /// parameters (pow exponent, clamp bounds, mask threshold). x and y are dense and of equal shape.</summary>
    void Unary(F.UnaryKind kind, Tensor x, Tensor y, double p, double q) =>
        throw DeviceKernelMissing.Error("unary/" + kind, x);

    /// <summary>y = f(a, b) elementwise for one <see cref="F.PairKind"/>; a, b and y are dense and of equal shape.</summary>
    void Pair(F.PairKind kind, Tensor a, Tensor b, Tensor y) =>
        throw DeviceKernelMissing.Error("pair/" + kind, a);

    /// <summary>y = x converted elementwise between float32 and Int64 (to Int64 truncating toward zero, as the host's cast);
    /// x and y are dense and of equal shape.</summary>
    void Convert(Tensor x, Tensor y) =>
        throw DeviceKernelMissing.Error($"convert {x.DType} to {y.DType}", x);

    /// <summary>t += <paramref name="value"/> for a dense Int64 tensor (batch norm's step counter), without a host round trip.</summary>
    void AddScalarInt64(Tensor t, long value) =>
        throw DeviceKernelMissing.Error("add_scalar_i64", t);
}
