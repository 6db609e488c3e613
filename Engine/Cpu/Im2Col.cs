using System.Numerics;

namespace Astmt.Engine.Cpu;

/// <summary>
/// Lowering of one image of a 2-D convolution to a matrix: im2col unfolds x [C,H,W] into col [C·R·S, P·Q] (row (c,r,s), column
/// (p,q)), so the convolution becomes one GEMM; col2im folds such a matrix back, adding overlapping taps (the backward-data
/// path). Both split the work over channels: each channel's rows and plane belong to one thread, so results do not depend on
/// the thread count.
/// </summary>
public static class Im2Col
{
    /// <summary>Unfolds x [C,H,W] (at <paramref name="xOffset"/>) into col [C·R·S, P·Q]; taps that fall in the padding read zero.</summary>
    public static void Unfold<T>(T[] x, int xOffset, T[] col, int channels, int height, int width, int kernelH, int kernelW,
        int outH, int outW, int stride, int padding, int dilation) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int plane = height * width, cols = outH * outW, taps = kernelH * kernelW;
        Parallelism.For(0, channels, MinChannelsPerThread(taps * cols), (c0, c1) =>
        {
            for (int c = c0; c < c1; c++)
            {
                int xc = xOffset + c * plane;
                for (int r = 0; r < kernelH; r++)
                for (int s = 0; s < kernelW; s++)
                {
                    var row = col.AsSpan(((c * kernelH + r) * kernelW + s) * cols, cols);
                    int dw = s * dilation - padding;
                    // Output columns q whose input column q·stride + dw lies inside [0, W).
                    int qLo = dw >= 0 ? 0 : (-dw + stride - 1) / stride;
                    int qHi = width - dw <= 0 ? 0 : Math.Min(outW, (width - dw + stride - 1) / stride);
                    if (qHi < qLo) qHi = qLo;
                    for (int p = 0; p < outH; p++)
                    {
                        var dst = row.Slice(p * outW, outW);
                        int h = p * stride - padding + r * dilation;
                        if ((uint)h >= (uint)height) { dst.Clear(); continue; }
                        dst[..qLo].Clear();
                        dst[qHi..].Clear();
                        int src = xc + h * width + dw;
                        if (stride == 1) x.AsSpan(src + qLo, qHi - qLo).CopyTo(dst[qLo..qHi]);
                        else for (int q = qLo; q < qHi; q++) dst[q] = x[src + q * stride];
                    }
                }
            }
        });
    }

    /// <summary>Folds col [C·R·S, P·Q] back into x [C,H,W] (at <paramref name="xOffset"/>), which it overwrites: each input
    /// element receives the sum of the taps that read it; taps in the padding are dropped.</summary>
    public static void Fold<T>(T[] col, T[] x, int xOffset, int channels, int height, int width, int kernelH, int kernelW,
        int outH, int outW, int stride, int padding, int dilation) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int plane = height * width, cols = outH * outW, taps = kernelH * kernelW;
        Parallelism.For(0, channels, MinChannelsPerThread(taps * cols), (c0, c1) =>
        {
            for (int c = c0; c < c1; c++)
            {
                int xc = xOffset + c * plane;
                x.AsSpan(xc, plane).Clear();
                for (int r = 0; r < kernelH; r++)
                for (int s = 0; s < kernelW; s++)
                {
                    var row = col.AsSpan(((c * kernelH + r) * kernelW + s) * cols, cols);
                    int dw = s * dilation - padding;
                    int qLo = dw >= 0 ? 0 : (-dw + stride - 1) / stride;
                    int qHi = width - dw <= 0 ? 0 : Math.Min(outW, (width - dw + stride - 1) / stride);
                    for (int p = 0; p < outH; p++)
                    {
                        int h = p * stride - padding + r * dilation;
                        if ((uint)h >= (uint)height) continue;
                        var src = row.Slice(p * outW, outW);
                        int dst = xc + h * width + dw;
                        if (stride == 1) VectorMath.AddInPlace(x.AsSpan(dst + qLo, Math.Max(0, qHi - qLo)), src[qLo..Math.Max(qLo, qHi)]);
                        else for (int q = qLo; q < qHi; q++) x[dst + q * stride] += src[q];
                    }
                }
            }
        });
    }

    // A channel costs R·S·P·Q copies; below ~32K elements per thread the fork costs more than it saves.
    private static int MinChannelsPerThread(int perChannel) => Math.Max(1, (1 << 15) / Math.Max(1, perChannel));
}
