using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Astmt.Engine.Cpu;
using Astmt.Engine.Memory;

namespace Astmt.Engine.Ops;

/// <summary>
/// CPU convolution as GEMM, one image at a time. Pointwise convolutions (1x1, stride 1, no padding) multiply the image directly.
/// In float32, 3x3 stride-1 forward, backward-data and backward-weight passes with enough channels and tiles use Winograd F(2x2,3x3)
/// (<see cref="Conv2dWinograd"/>); the forward and backward-weight passes of the others, and backward-data at stride 1, are implicit GEMMs
/// (<see cref="Conv2dImplicit"/>): the im2col matrix is packed panel by panel straight from the image and never written
/// out. Strided backward-data, and every float64 pass, unfold (or fold) a band of output rows at a time through an im2col matrix [C·R·S, rows·Q] rented from
/// <see cref="BufferPool"/> once per call, so the buffer stays bounded at full resolution. GEMMs run on the calling thread through <see cref="Gemm"/>,
/// which splits its own work over the cores; the unfold and fold loops split over channels. Every array is dense NCHW (or
/// KCRS) starting at the given offset.
/// </summary>
internal static class Conv2dKernels
{
    /// <summary>Target size of the im2col band, in elements (4 MB of float32 by default): small enough that the band written
    /// by im2col is still in cache when the GEMM packs it (single-thread CPU time on a loaded machine: 16 → 11 ms and
    /// 43 → 36 ms against 16 MB bands for 64- and 256-channel 3x3 layers at batch 2). Tests lower it to exercise images split
    /// into many bands.</summary>
    internal static int MaxBandElements { get; set; } = 1 << 20;

    /// <summary>Fewest GEMM columns (output positions) a band holds, whatever <see cref="MaxBandElements"/> says: thinner
    /// panels lose more to packing than they gain from cache (a 512-channel 3x3 layer at 18x24 ran 1.75x slower in
    /// 48-column bands, 1.1x slower in 216-column ones).</summary>
    internal static int MinBandColumns { get; set; } = 512;

    /// <summary>y [B,K,P,Q] = conv(x [B,C,H,W], w [K,C,R,S]) + bias [K].</summary>
    public static void Forward<T>(in Conv2dGeometry g, T[] x, int xOff, T[] w, int wOff, T[]? bias, int biasOff, T[] y, int yOff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, pq = g.ColCols;
        var weights = w.AsSpan(wOff, g.K * g.ColRows);
        if (g.IsPointwise || g.IsCentreTapOnly)
        {
            var centre = g.IsCentreTapOnly ? GatherCentreTap(g, w, wOff) : null;
            // y_b [K, H·W] = w [K, C] · x_b [C, H·W]
            for (int b = 0; b < g.B; b++)
                GemmOf<T>.Run(Transpose.No, Transpose.No, g.K, pq, g.C, centre != null ? centre.AsSpan(0, g.K * g.C) : weights, g.C, x.AsSpan(xOff + b * inPlane, inPlane), pq,
                    T.Zero, y.AsSpan(yOff + b * outPlane, outPlane), pq);
            if (centre != null) BufferPool.Return(centre);
        }
        else if (typeof(T) == typeof(float) && Conv2dWinograd.UseForForward(g))
        {
            Conv2dWinograd.Forward(g, Unsafe.As<float[]>(x), xOff, MemoryMarshal.Cast<T, float>(weights), Unsafe.As<float[]>(y), yOff);
        }
        else if (typeof(T) == typeof(float))
        {
            Conv2dImplicit.Forward(g, Unsafe.As<float[]>(x), xOff, MemoryMarshal.Cast<T, float>(weights), Unsafe.As<float[]>(y), yOff);
        }
        else
        {
            int band = BandRows(g);
            var col = BufferPool.Rent<T>(g.ColRows * band * g.Q, clear: false);
            try
            {
                for (int b = 0; b < g.B; b++)
                for (int p0 = 0; p0 < g.P; p0 += band)
                {
                    int rows = Math.Min(band, g.P - p0), n = rows * g.Q;
                    Im2Col.Unfold(x, xOff + b * inPlane, col, g.C, g.H, g.W, g.R, g.S, g.Q, p0, rows, g.Stride, g.Padding, g.Dilation);
                    // y_b[:, band] [K, rows·Q] = w [K, C·R·S] · col [C·R·S, rows·Q]
                    GemmOf<T>.Run(Transpose.No, Transpose.No, g.K, n, g.ColRows, weights, g.ColRows, col.AsSpan(0, g.ColRows * n), n,
                        T.Zero, Strided(y, yOff + b * outPlane + p0 * g.Q, g.K, n, pq), pq);
                }
            }
            finally
            {
                BufferPool.Return(col);
            }
        }
        if (bias != null) AddBias(y, yOff, g.B * g.K, g.K, pq, bias, biasOff);
    }

    /// <summary>y [B·K rows of P·Q] += bias [K] per row, rows split over the threads.</summary>
    private static void AddBias<T>(T[] y, int yOff, int rows, int channels, int pq, T[] bias, int biasOff) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(0, rows, Math.Max(1, (1 << 16) / Math.Max(1, pq)), (y, yOff, channels, pq, bias, biasOff),
            static (in (T[] Y, int YOff, int Channels, int Pq, T[] Bias, int BiasOff) a, int r0, int r1) =>
        {
            var (y, yOff, channels, pq, bias, biasOff) = a;
            for (int r = r0; r < r1; r++)
            {
                var row = y.AsSpan(yOff + r * pq, pq);
                T add = bias[biasOff + r % channels];
                var v = Vector256.Create(add);
                int i = 0, w = Vector256<T>.Count;
                for (; i <= row.Length - w; i += w) (Vector256.Create(row.Slice(i, w)) + v).CopyTo(row.Slice(i, w));
                for (; i < row.Length; i++) row[i] += add;
            }
        });
    }

    /// <summary>gx [B,C,H,W] = the transpose of the convolution applied to gy [B,K,P,Q] with w [K,C,R,S] (overwrites gx).</summary>
    public static void BackwardData<T>(in Conv2dGeometry g, T[] gy, int gyOff, T[] w, int wOff, T[] gx, int gxOff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, pq = g.ColCols;
        var weights = w.AsSpan(wOff, g.K * g.ColRows);
        if (g.IsPointwise || g.IsCentreTapOnly)
        {
            var centre = g.IsCentreTapOnly ? GatherCentreTap(g, w, wOff) : null;
            // gx_b [C, H·W] = wᵀ [C, K] · gy_b [K, H·W]
            for (int b = 0; b < g.B; b++)
                GemmOf<T>.Run(Transpose.Yes, Transpose.No, g.C, pq, g.K, centre != null ? centre.AsSpan(0, g.K * g.C) : weights, g.C, gy.AsSpan(gyOff + b * outPlane, outPlane), pq,
                    T.Zero, gx.AsSpan(gxOff + b * inPlane, inPlane), pq);
            if (centre != null) BufferPool.Return(centre);
            return;
        }
        if (typeof(T) == typeof(float) && Conv2dWinograd.UseForBackwardData(g))
        {
            Conv2dWinograd.BackwardData(g, Unsafe.As<float[]>(gy), gyOff, MemoryMarshal.Cast<T, float>(weights), Unsafe.As<float[]>(gx), gxOff);
            return;
        }
        if (typeof(T) == typeof(float) && Conv2dImplicit.BackwardDataIsForwardConv(g))
        {
            Conv2dImplicit.BackwardData(g, Unsafe.As<float[]>(gy), gyOff, MemoryMarshal.Cast<T, float>(weights), Unsafe.As<float[]>(gx), gxOff);
            return;
        }
        int group = Conv2dImplicit.ImagesPerGemm(g);
        if (group > 1)
        {
            BackwardDataGrouped(g, gy, gyOff, weights, gx, gxOff, group);
            return;
        }
        int band = BandRows(g);
        var col = BufferPool.Rent<T>(g.ColRows * band * g.Q, clear: false);
        try
        {
            for (int b = 0; b < g.B; b++)
            for (int p0 = 0; p0 < g.P; p0 += band)
            {
                int rows = Math.Min(band, g.P - p0), n = rows * g.Q;
                // col [C·R·S, rows·Q] = wᵀ [C·R·S, K] · gy_b[:, band] [K, rows·Q]
                GemmOf<T>.Run(Transpose.Yes, Transpose.No, g.ColRows, n, g.K, weights, g.ColRows,
                    Strided(gy, gyOff + b * outPlane + p0 * g.Q, g.K, n, pq), pq, T.Zero, col.AsSpan(0, g.ColRows * n), n);
                Im2Col.Fold(col, gx, gxOff + b * inPlane, g.C, g.H, g.W, g.R, g.S, g.Q, p0, rows, g.Stride, g.Padding, g.Dilation, clear: p0 == 0);
            }
        }
        finally
        {
            BufferPool.Return(col);
        }
    }

    /// <summary>Backward-data for small feature maps: <paramref name="group"/> images side by side in one GEMM,
    /// col [C·R·S, images·P·Q] = wᵀ · [gy_b0 … ] (the weights packed once per group, panels wide enough for the microkernel),
    /// then each image's columns folded into its gx.</summary>
    private static void BackwardDataGrouped<T>(in Conv2dGeometry g, T[] gy, int gyOff, Span<T> weights, T[] gx, int gxOff, int group)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, pq = g.ColCols;
        var gradients = BufferPool.Rent<T>(g.K * group * pq, clear: false);
        var col = BufferPool.Rent<T>(g.ColRows * group * pq, clear: false);
        try
        {
            for (int b0 = 0; b0 < g.B; b0 += group)
            {
                int images = Math.Min(group, g.B - b0), n = images * pq;
                Conv2dImplicit.GatherImages(gy, gyOff, outPlane, b0, images, g.K, pq, gradients);
                GemmOf<T>.Run(Transpose.Yes, Transpose.No, g.ColRows, n, g.K, weights, g.ColRows, gradients.AsSpan(0, g.K * n), n,
                    T.Zero, col.AsSpan(0, g.ColRows * n), n);
                for (int i = 0; i < images; i++)
                    Im2Col.Fold(col, gx, gxOff + (b0 + i) * inPlane, g.C, g.H, g.W, g.R, g.S, g.Q, 0, g.P, g.Stride, g.Padding, g.Dilation,
                        clear: true, colOffset: i * pq, colStride: n);
            }
        }
        finally
        {
            BufferPool.Return(col);
            BufferPool.Return(gradients);
        }
    }

    /// <summary>gw [K,C,R,S] = Σ_b gy_b [K, P·Q] · col(x_b)ᵀ [P·Q, C·R·S] (overwrites gw).</summary>
    public static void BackwardWeight<T>(in Conv2dGeometry g, T[] x, int xOff, T[] gy, int gyOff, T[] gw, int gwOff)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, pq = g.ColCols;
        var dst = gw.AsSpan(gwOff, g.K * g.ColRows);
        if (g.B == 0 || pq == 0) { dst.Clear(); return; }
        // Images (and bands) accumulate in a fixed order, so the sum does not depend on the thread count.
        if (g.IsPointwise)
        {
            for (int b = 0; b < g.B; b++)
                GemmOf<T>.Run(Transpose.No, Transpose.Yes, g.K, g.C, pq, gy.AsSpan(gyOff + b * outPlane, outPlane), pq,
                    x.AsSpan(xOff + b * inPlane, inPlane), pq, b == 0 ? T.Zero : T.One, dst, g.C);
            return;
        }
        if (g.IsCentreTapOnly)
        {
            // Only the centre tap meets the input; every other tap's gradient is exactly zero.
            var centre = BufferPool.Rent<T>(g.K * g.C, clear: false);
            for (int b = 0; b < g.B; b++)
                GemmOf<T>.Run(Transpose.No, Transpose.Yes, g.K, g.C, pq, gy.AsSpan(gyOff + b * outPlane, outPlane), pq,
                    x.AsSpan(xOff + b * inPlane, inPlane), pq, b == 0 ? T.Zero : T.One, centre, g.C);
            dst.Clear();
            int taps = g.R * g.S, tap = taps / 2;
            for (int i = 0; i < g.K * g.C; i++) dst[i * taps + tap] = centre[i];
            BufferPool.Return(centre);
            return;
        }
        if (typeof(T) == typeof(float) && Conv2dWinograd.UseForBackwardWeight(g))
        {
            Conv2dWinograd.BackwardWeight(g, Unsafe.As<float[]>(x), xOff, Unsafe.As<float[]>(gy), gyOff, MemoryMarshal.Cast<T, float>(dst));
            return;
        }
        if (typeof(T) == typeof(float))
        {
            Conv2dImplicit.BackwardWeight(g, Unsafe.As<float[]>(x), xOff, Unsafe.As<float[]>(gy), gyOff, MemoryMarshal.Cast<T, float>(dst));
            return;
        }
        int band = BandRows(g);
        var col = BufferPool.Rent<T>(g.ColRows * band * g.Q, clear: false);
        try
        {
            bool first = true;
            for (int b = 0; b < g.B; b++)
            for (int p0 = 0; p0 < g.P; p0 += band)
            {
                int rows = Math.Min(band, g.P - p0), n = rows * g.Q;
                Im2Col.Unfold(x, xOff + b * inPlane, col, g.C, g.H, g.W, g.R, g.S, g.Q, p0, rows, g.Stride, g.Padding, g.Dilation);
                // gw [K, C·R·S] += gy_b[:, band] [K, rows·Q] · colᵀ [rows·Q, C·R·S]
                GemmOf<T>.Run(Transpose.No, Transpose.Yes, g.K, g.ColRows, n, Strided(gy, gyOff + b * outPlane + p0 * g.Q, g.K, n, pq), pq,
                    col.AsSpan(0, g.ColRows * n), n, first ? T.Zero : T.One, dst, g.ColRows);
                first = false;
            }
        }
        finally
        {
            BufferPool.Return(col);
        }
    }

    /// <summary>The centre tap w[:, :, R/2, S/2] as a pooled [K, C] matrix (see <see cref="Conv2dGeometry.IsCentreTapOnly"/>).</summary>
    private static T[] GatherCentreTap<T>(in Conv2dGeometry g, T[] w, int wOff) where T : unmanaged
    {
        var centre = BufferPool.Rent<T>(g.K * g.C, clear: false);
        int taps = g.R * g.S, at = wOff + taps / 2;
        for (int i = 0; i < g.K * g.C; i++) centre[i] = w[at + i * taps];
        return centre;
    }

    /// <summary>Output rows per im2col band: the whole image when it fits <see cref="MaxBandElements"/>, else fewer, but at
    /// least <see cref="MinBandColumns"/> columns (and at least one row).</summary>
    private static int BandRows(in Conv2dGeometry g)
    {
        int q = Math.Max(1, g.Q);
        int rows = Math.Max(MaxBandElements / Math.Max(1, g.ColRows * q), (MinBandColumns + q - 1) / q);
        return Math.Clamp(rows, 1, Math.Max(1, g.P));
    }

    /// <summary>The span covering a rows×cols sub-matrix with leading dimension ld, starting at offset.</summary>
    private static Span<T> Strided<T>(T[] data, int offset, int rows, int cols, int ld) =>
        data.AsSpan(offset, rows == 0 ? 0 : (rows - 1) * ld + cols);
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
