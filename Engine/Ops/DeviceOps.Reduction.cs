namespace Astmt.Engine.Ops;

// Device kernels of the max/argmax and norm reductions (Ops/Reduction).
public partial interface IDeviceOps
{
    /// <summary>Max over the middle axis of dense x viewed as [outer, size, inner]: values (skipped when null) and Int64 indices
    /// of the first maximum, both dense [outer, inner].</summary>
    void MaxAlong(Tensor x, Tensor? values, Tensor indices, int outer, int size, int inner) =>
        throw DeviceKernelMissing.Error("max_along", x);

    /// <summary>Writes 1 into zero-filled dense y, viewed as [outer, size, inner], at the Int64 indices [outer, inner].</summary>
    void OneHotAlong(Tensor indices, Tensor y, int outer, int size, int inner) =>
        throw DeviceKernelMissing.Error("one_hot_along", y);

    /// <summary>√Σ x² over the middle axis of dense x viewed as [outer, size, inner], into dense y [outer, inner].</summary>
    void Norm(Tensor x, Tensor y, int outer, int size, int inner) =>
        throw DeviceKernelMissing.Error("norm", x);
}
