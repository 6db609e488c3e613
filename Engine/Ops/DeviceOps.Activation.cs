namespace Astmt.Engine.Ops;

// Device kernels of softmax and log-softmax (Ops/Activation).
public partial interface IDeviceOps
{
    /// <summary>Softmax (or log-softmax when <paramref name="log"/>) of dense x viewed as [outer, size, inner] over the middle
    /// axis, into dense y of the same shape.</summary>
    void Softmax(Tensor x, Tensor y, int outer, int size, int inner, bool log) =>
        throw DeviceKernelMissing.Error(log ? "log_softmax" : "softmax", x);
}
