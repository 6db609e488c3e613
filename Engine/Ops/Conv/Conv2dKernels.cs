using System.Numerics;
using System.Runtime.InteropServices;
using Astmt.Engine.Cpu;
using Astmt.Engine.Memory;

namespace Astmt.Engine.Ops;

/// <summary>
/// CPU convolution as GEMM, one image at a time. Pointwise convolutions (1x1, stride 1, no padding) multiply the image directly;
/// the others go through an im2col matrix [C·R·S, P·Q] rented from <see cref="BufferPool"/> once per call and reused for every
/// image. GEMMs run on the calling thread through <see cref="Gemm"/>, which splits its own work over the cores; the unfold and
/// fold loops split over channels. Every array is dense NCHW (or KCRS) starting at the given offset.
/// </summary>
internal static class Conv2dKernels
{
    /// <summary>y [B,K,P,Q] = conv(x [B,C,H,W], w [K,C,R,S]) + bias [K].</summary>
    public static void Forward<T>(in Conv2dGeometry g, T[] x, int xOff, T[] w, int wOff, T[]? bias, int biasOff, T[] y, int yOff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, n = g.ColCols;
        T[]? col = g.IsPointwise ? null : BufferPool.Rent<T>(g.ColRows * n, clear: false);
        try
        {
            for (int b = 0; b < g.B; b++)
            {
                ReadOnlySpan<T> rhs;
                if (col == null) rhs = x.AsSpan(xOff + b * inPlane, inPlane);
                else
                {
                    Im2Col.Unfold(x, xOff + b * inPlane, col, g.C, g.H, g.W, g.R, g.S, g.P, g.Q, g.Stride, g.Padding, g.Dilation);
                    rhs = col;
                }
                var dst = y.AsSpan(yOff + b * outPlane, outPlane);
                // y_b [K, P·Q] = w [K, C·R·S] · col [C·R·S, P·Q]
                GemmOf<T>.Run(Transpose.No, Transpose.No, g.K, n, g.ColRows, w.AsSpan(wOff, g.K * g.ColRows), g.ColRows, rhs, n, T.Zero, dst, n);
                if (bias != null)
                    for (int k = 0; k < g.K; k++)
                    {
                        var row = dst.Slice(k * n, n);
                        var add = bias[biasOff + k];
                        for (int i = 0; i < row.Length; i++) row[i] += add;
                    }
            }
        }
        finally
        {
            if (col != null) BufferPool.Return(col);
        }
    }

    /// <summary>gx [B,C,H,W] = the transpose of the convolution applied to gy [B,K,P,Q] with w [K,C,R,S] (overwrites gx).</summary>
    public static void BackwardData<T>(in Conv2dGeometry g, T[] gy, int gyOff, T[] w, int wOff, T[] gx, int gxOff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, n = g.ColCols;
        T[]? col = g.IsPointwise ? null : BufferPool.Rent<T>(g.ColRows * n, clear: false);
        try
        {
            for (int b = 0; b < g.B; b++)
            {
                var dst = col ?? gx;
                int dstOff = col == null ? gxOff + b * inPlane : 0;
                // col [C·R·S, P·Q] = wᵀ [C·R·S, K] · gy_b [K, P·Q]
                GemmOf<T>.Run(Transpose.Yes, Transpose.No, g.ColRows, n, g.K, w.AsSpan(wOff, g.K * g.ColRows), g.ColRows,
                    gy.AsSpan(gyOff + b * outPlane, outPlane), n, T.Zero, dst.AsSpan(dstOff, g.ColRows * n), n);
                if (col != null)
                    Im2Col.Fold(col, gx, gxOff + b * inPlane, g.C, g.H, g.W, g.R, g.S, g.P, g.Q, g.Stride, g.Padding, g.Dilation);
            }
        }
        finally
        {
            if (col != null) BufferPool.Return(col);
        }
    }

    /// <summary>gw [K,C,R,S] = Σ_b gy_b [K, P·Q] · col(x_b)ᵀ [P·Q, C·R·S] (overwrites gw).</summary>
    public static void BackwardWeight<T>(in Conv2dGeometry g, T[] x, int xOff, T[] gy, int gyOff, T[] gw, int gwOff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, n = g.ColCols;
        var dst = gw.AsSpan(gwOff, g.K * g.ColRows);
        if (g.B == 0) { dst.Clear(); return; }
        T[]? col = g.IsPointwise ? null : BufferPool.Rent<T>(g.ColRows * n, clear: false);
        try
        {
            for (int b = 0; b < g.B; b++)
            {
                ReadOnlySpan<T> cols;
                if (col == null) cols = x.AsSpan(xOff + b * inPlane, inPlane);
                else
                {
                    Im2Col.Unfold(x, xOff + b * inPlane, col, g.C, g.H, g.W, g.R, g.S, g.P, g.Q, g.Stride, g.Padding, g.Dilation);
                    cols = col;
                }
                // Images accumulate in batch order, so the sum does not depend on the thread count.
                GemmOf<T>.Run(Transpose.No, Transpose.Yes, g.K, g.ColRows, n, gy.AsSpan(gyOff + b * outPlane, outPlane), n,
                    cols, n, b == 0 ? T.Zero : T.One, dst, g.ColRows);
            }
        }
        finally
        {
            if (col != null) BufferPool.Return(col);
        }
    }
}

/// <summary>Routes a generic GEMM to <see cref="Gemm.Sgemm"/> or <see cref="Gemm.Dgemm"/> (alpha 1).</summary>
internal static class GemmOf<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Run(Transpose ta, Transpose tb, int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc)
    {
        if (m == 0 || n == 0) return;
        if (typeof(T) == typeof(float))
            Gemm.Sgemm(ta, tb, m, n, k, 1f, MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb,
                float.CreateTruncating(beta), MemoryMarshal.Cast<T, float>(c), ldc);
        else
            Gemm.Dgemm(ta, tb, m, n, k, 1.0, MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb,
                double.CreateTruncating(beta), MemoryMarshal.Cast<T, double>(c), ldc);
    }
}
