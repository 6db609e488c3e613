using System.Numerics;

namespace Astmt.Engine.Cpu;

/// <summary>
/// Lowering of one image of a 2-D convolution to a matrix: im2col unfolds x [C,H,W] into col [C·R·S, rows·Q] for a band of
/// output rows [p0, p0 + rows) (row (c,r,s), column (p,q)), so the convolution of that band becomes one GEMM; col2im folds
/// such a matrix back, adding overlapping taps (the backward-data path). Bands keep the matrix small at full resolution
/// (C·R·S·P·Q can reach hundreds of megabytes). Both split the work over channels: each channel's rows and plane belong to
/// one thread, so results do not depend on the thread count.
/// </summary>
public static class Im2Col
{
    /// <summary>Unfolds output rows [<paramref name="p0"/>, p0 + <paramref name="rows"/>) of x [C,H,W] (at
    /// <paramref name="xOffset"/>) into col [C·R·S, rows·Q]; taps that fall in the padding read zero.</summary>
    public static void Unfold<T>(T[] x, int xOffset, T[] col, int channels, int height, int width, int kernelH, int kernelW,
        int outW, int p0, int rows, int stride, int padding, int dilation) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cols = rows * outW, taps = kernelH * kernelW;
        var band = new Band<T>(x, xOffset, col, height, width, kernelH, kernelW, outW, p0, rows, stride, padding, dilation, Clear: false, ColOffset: 0, Ld: cols);
        Parallelism.For(0, channels, MinChannelsPerThread(taps * cols), band, static (in Band<T> band, int c0, int c1) =>
        {
            var (x, xOffset, col, height, width, kernelH, kernelW, outW, p0, rows, stride, padding, dilation, _, _, cols) = band;
            int plane = height * width;
            for (int c = c0; c < c1; c++)
            {
                int xc = xOffset + c * plane;
                for (int r = 0; r < kernelH; r++)
                for (int s = 0; s < kernelW; s++)
                {
                    var row = col.AsSpan(((c * kernelH + r) * kernelW + s) * cols, cols);
                    int dw = s * dilation - padding;
                    var (qLo, qHi) = ValidColumns(dw, width, outW, stride);
                    for (int p = 0; p < rows; p++)
                    {
                        var dst = row.Slice(p * outW, outW);
                        int h = (p0 + p) * stride - padding + r * dilation;
                        if ((uint)h >= (uint)height || qHi == qLo) { dst.Clear(); continue; }
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

    /// <summary>Folds col [C·R·S, rows·Q] of output rows [<paramref name="p0"/>, p0 + <paramref name="rows"/>) back into x
    /// [C,H,W] (at <paramref name="xOffset"/>), adding each tap to the input element it read; taps in the padding are dropped.
    /// With <paramref name="clear"/> the planes are zeroed first (the first band of an image). The band's columns may sit
    /// inside a wider matrix (several images side by side): they start at <paramref name="colOffset"/> in each row of
    /// <paramref name="colStride"/> elements (0: rows·Q, the band alone).</summary>
    public static void Fold<T>(T[] col, T[] x, int xOffset, int channels, int height, int width, int kernelH, int kernelW,
        int outW, int p0, int rows, int stride, int padding, int dilation, bool clear, int colOffset = 0, int colStride = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int cols = rows * outW, taps = kernelH * kernelW;
        int ld = colStride == 0 ? cols : colStride;
        if (ld < cols || colOffset < 0 || colOffset + cols > ld)
            throw new ArgumentException($"Im2Col.Fold: a band of {cols} columns at offset {colOffset} does not fit rows of {ld} elements.");
        var band = new Band<T>(x, xOffset, col, height, width, kernelH, kernelW, outW, p0, rows, stride, padding, dilation, clear, colOffset, ld);
        Parallelism.For(0, channels, MinChannelsPerThread(taps * cols), band, static (in Band<T> band, int c0, int c1) =>
        {
            var (x, xOffset, col, height, width, kernelH, kernelW, outW, p0, rows, stride, padding, dilation, clear, colOffset, ld) = band;
            int plane = height * width, cols = rows * outW;
            for (int c = c0; c < c1; c++)
            {
                int xc = xOffset + c * plane;
                if (clear) x.AsSpan(xc, plane).Clear();
                for (int r = 0; r < kernelH; r++)
                for (int s = 0; s < kernelW; s++)
                {
                    var row = col.AsSpan(((c * kernelH + r) * kernelW + s) * ld + colOffset, cols);
                    int dw = s * dilation - padding;
                    var (qLo, qHi) = ValidColumns(dw, width, outW, stride);
                    if (qHi == qLo) continue;
                    for (int p = 0; p < rows; p++)
                    {
                        int h = (p0 + p) * stride - padding + r * dilation;
                        if ((uint)h >= (uint)height) continue;
                        var src = row.Slice(p * outW, outW);
                        int dst = xc + h * width + dw;
                        if (stride == 1) VectorMath.AddInPlace(x.AsSpan(dst + qLo, qHi - qLo), src[qLo..qHi]);
                        else for (int q = qLo; q < qHi; q++) x[dst + q * stride] += src[q];
                    }
                }
            }
        });
    }

    // The geometry of one band, passed to the parallel loops as state so that they allocate no closure per band. Ld is the row
    // length of col (the band's own width for Unfold).
    private readonly record struct Band<T>(T[] X, int XOffset, T[] Col, int Height, int Width, int KernelH, int KernelW, int OutW, int P0, int Rows,
        int Stride, int Padding, int Dilation, bool Clear, int ColOffset, int Ld);

    /// <summary>Output columns [qLo, qHi) whose input column q·stride + dw lies inside [0, W); empty when none does.</summary>
    private static (int Lo, int Hi) ValidColumns(int dw, int width, int outW, int stride)
    {
        int lo = dw >= 0 ? 0 : Math.Min(outW, (-dw + stride - 1) / stride);
        int hi = width - dw <= 0 ? 0 : Math.Min(outW, (width - dw + stride - 1) / stride);
        return (lo, Math.Max(lo, hi));
    }

    // A channel costs R·S·rows·Q copies; below ~32K elements per thread the fork costs more than it saves.
    private static int MinChannelsPerThread(int perChannel) => Math.Max(1, (1 << 15) / Math.Max(1, perChannel));
}
