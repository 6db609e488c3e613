namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Batch norm over [B,C,H,W] per channel. Training uses batch statistics and updates the running ones in place with
    /// <paramref name="momentum"/> (unbiased variance, as PyTorch); evaluation uses the running ones.</summary>
    public static Tensor BatchNorm2d(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar, bool training,
        double momentum = 0.1, double eps = 1e-5) =>
        throw new NotImplementedException("batch_norm is being written (engine-core issue).");
}
