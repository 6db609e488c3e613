namespace Astmt.Engine.Ops;

/// <summary>Interpolation used by <see cref="F.Interpolate(Tensor, int, int, ResizeMode, bool)"/>.</summary>
public enum ResizeMode
{
    /// <summary>PyTorch's 'nearest': source index floor(dst · in/out).</summary>
    Nearest,
    /// <summary>Bilinear, with or without align_corners.</summary>
    Bilinear,
}

public static partial class F
{
    /// <summary>Resizes [B,C,H,W] to [B,C,outH,outW].</summary>
    public static Tensor Interpolate(Tensor x, int outputHeight, int outputWidth, ResizeMode mode, bool alignCorners = false) =>
        throw new NotImplementedException("interpolate is being written (engine-core issue).");

    /// <summary>Resizes by a scale factor (output size floor(in·scale)); with bilinear, align_corners false uses 1/scale as the source step, as PyTorch.</summary>
    public static Tensor Interpolate(Tensor x, double scale, ResizeMode mode, bool alignCorners = false) =>
        throw new NotImplementedException("interpolate is being written (engine-core issue).");

    /// <summary>Global average pooling: [B,C,H,W] → [B,C,1,1].</summary>
    public static Tensor GlobalAvgPool2d(Tensor x) => Mean(x, [2, 3], keepDim: true);
}
