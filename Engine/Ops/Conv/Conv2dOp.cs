namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>2-D convolution (cross-correlation): x [B,C,H,W], weight [K,C,R,S], bias [K] → [B,K,P,Q].</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int stride = 1, int padding = 0, int dilation = 1) =>
        throw new NotImplementedException("conv2d is being written (engine-core issue).");
}
