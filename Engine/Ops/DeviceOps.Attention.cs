namespace Astmt.Engine.Ops;

// Device kernels of channel scaling (Ops/Attention).
public partial interface IDeviceOps
{
    /// <summary>y[b,c,h,w] = x[b,c,h,w]·s[b,c] for dense x, y [B,C,H,W] and dense s [B,C].</summary>
    void ChannelScale(Tensor x, Tensor scale, Tensor y) =>
        throw DeviceKernelMissing.Error("channel_scale", x);

    /// <summary>y[b,c] = Σ_hw a[b,c,h,w]·b[b,c,h,w] for dense a, b [B,C,H,W] and dense y [B,C].</summary>
    void ChannelDot(Tensor a, Tensor b, Tensor y) =>
        throw DeviceKernelMissing.Error("channel_dot", a);
}
