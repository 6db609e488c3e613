using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

/// <summary>
/// CPU max pooling and the index scatter/gather pair that routes its gradients. Indices are PyTorch's: h·W + w within the
/// input plane. Planes (b,c) are split over the threads and each is computed in a fixed order by one thread, so overlapping
/// windows (3x3/2) accumulate identically for any thread count.
/// </summary>
internal static class MaxPoolKernels
{
    /// <summary>y, indices [B·C, P, Q] = max over each window of x [B·C, H, W]; padding never wins (it is −∞).</summary>
    public static void Forward<T>(T[] x, int xOff, T[] y, long[] indices, int planes, int h, int w, int p, int q, int kernel, int stride, int padding)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outPlane = p * q;
        Parallelism.For(0, planes, Math.Max(1, (1 << 14) / Math.Max(1, outPlane * kernel * kernel)), new Window<T>(x, xOff, y, indices, h, w, p, q, kernel, stride, padding),
            static (in Window<T> a, int c0, int c1) =>
        {
            var (x, xOff, y, indices, h, w, p, q, kernel, stride, padding) = a;
            int inPlane = h * w, outPlane = p * q;
            for (int c = c0; c < c1; c++)
            {
                int xp = xOff + c * inPlane, yp = c * outPlane;
                if (kernel == 2 && stride == 2 && padding == 0)
                {
                    Window2x2(x, xp, y, indices, yp, w, p, q);
                    continue;
                }
                for (int oh = 0; oh < p; oh++)
                {
                    int h0 = oh * stride - padding, h1 = Math.Min(h0 + kernel, h);
                    h0 = Math.Max(h0, 0);
                    for (int ow = 0; ow < q; ow++)
                    {
                        int w0 = ow * stride - padding, w1 = Math.Min(w0 + kernel, w);
                        w0 = Math.Max(w0, 0);
                        T best = T.NegativeInfinity;
                        int arg = h0 * w + w0;
                        for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                        {
                            T v = x[xp + ih * w + iw];
                            // As PyTorch: the first maximum in scan order wins, and NaN propagates.
                            if (v > best || T.IsNaN(v)) { best = v; arg = ih * w + iw; }
                        }
                        y[yp + oh * q + ow] = best;
                        indices[yp + oh * q + ow] = arg;
                    }
                }
            }
        });
    }

    // The forward loop's inputs, passed as state so that it allocates no closure.
    private readonly record struct Window<T>(T[] X, int XOff, T[] Y, long[] Indices, int H, int W, int P, int Q, int Kernel, int Stride, int Padding);

    // SegNet's 2x2/2 pool: every window is inside the plane, so the four taps are read directly. The comparisons run in the
    // general loop's scan order, so ties and NaNs resolve identically.
    private static void Window2x2<T>(T[] x, int xp, T[] y, long[] indices, int yp, int w, int p, int q) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int oh = 0; oh < p; oh++)
        {
            int r0 = xp + 2 * oh * w, r1 = r0 + w, o = yp + oh * q;
            int top = 2 * oh * w;
            int vectorized = typeof(T) == typeof(float) && Avx2.IsSupported
                ? Window2x2Row(MemoryMarshal.Cast<T, float>(x.AsSpan()), r0, r1, MemoryMarshal.Cast<T, float>(y.AsSpan()), indices, o, top, w, q)
                : 0;
            for (int ow = vectorized; ow < q; ow++)
            {
                int iw = 2 * ow;
                T best = x[r0 + iw];
                int arg = top + iw;
                T v = x[r0 + iw + 1];
                if (v > best || T.IsNaN(v)) { best = v; arg = top + iw + 1; }
                v = x[r1 + iw];
                if (v > best || T.IsNaN(v)) { best = v; arg = top + w + iw; }
                v = x[r1 + iw + 1];
                if (v > best || T.IsNaN(v)) { best = v; arg = top + w + iw + 1; }
                y[o + ow] = best;
                indices[o + ow] = arg;
            }
        }
    }

    /// <summary>
    /// Eight outputs of a 2x2/2 row at a time (AVX2): the two input rows are split into even and odd columns and the four taps
    /// compared in the scalar loop's scan order with its rule (a later tap wins when greater or NaN), as vector masks.
    /// Returns how many outputs of the row it wrote (a multiple of eight); the scalar loop finishes the row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Window2x2Row(Span<float> x, int r0, int r1, Span<float> y, long[] indices, int o, int top, int w, int q)
    {
        int done = q & ~7;
        if (done == 0) return 0;
        // Every vector reads 16 input columns [2·ow, 2·ow + 16) of both rows; 2·done ≤ 2q ≤ w keeps them inside the row.
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        _ = x[r1 + 2 * done - 1];
        _ = y[o + done - 1];
        _ = indices[o + done - 1];
        var evenOdd = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
        var lane = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        for (int ow = 0; ow < done; ow += 8)
        {
            int iw = 2 * ow;
            var t0 = Avx2.PermuteVar8x32(Vector256.LoadUnsafe(ref xr, (nuint)(r0 + iw)), evenOdd);
            var t1 = Avx2.PermuteVar8x32(Vector256.LoadUnsafe(ref xr, (nuint)(r0 + iw + 8)), evenOdd);
            var b0 = Avx2.PermuteVar8x32(Vector256.LoadUnsafe(ref xr, (nuint)(r1 + iw)), evenOdd);
            var b1 = Avx2.PermuteVar8x32(Vector256.LoadUnsafe(ref xr, (nuint)(r1 + iw + 8)), evenOdd);
            // Even columns in the low half of each permuted vector, odd columns in the high half.
            var topLeft = Vector256.Create(t0.GetLower(), t1.GetLower());
            var topRight = Vector256.Create(t0.GetUpper(), t1.GetUpper());
            var bottomLeft = Vector256.Create(b0.GetLower(), b1.GetLower());
            var bottomRight = Vector256.Create(b0.GetUpper(), b1.GetUpper());
            var arg0 = Vector256.Create(top + iw) + lane;
            var best = topLeft;
            var arg = arg0;
            Take(ref best, ref arg, topRight, arg0 + Vector256.Create(1));
            Take(ref best, ref arg, bottomLeft, arg0 + Vector256.Create(w));
            Take(ref best, ref arg, bottomRight, arg0 + Vector256.Create(w + 1));
            best.StoreUnsafe(ref yr, (nuint)(o + ow));
            Avx2.ConvertToVector256Int64(arg.GetLower()).StoreUnsafe(ref indices[o + ow]);
            Avx2.ConvertToVector256Int64(arg.GetUpper()).StoreUnsafe(ref indices[o + ow + 4]);
        }
        return done;
    }

    /// <summary>best, arg ← v, vArg in the lanes where v &gt; best or v is NaN (the scalar rule).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Take(ref Vector256<float> best, ref Vector256<int> arg, Vector256<float> v, Vector256<int> vArg)
    {
        var take = Vector256.GreaterThan(v, best) | ~Vector256.Equals(v, v);
        best = Vector256.ConditionalSelect(take, v, best);
        arg = Vector256.ConditionalSelect(take.AsInt32(), vArg, arg);
    }

    /// <summary>dst [B·C, H·W] = 0, then dst[plane, indices[plane, j]] += values[plane, j] for every j of values [B·C, P·Q].</summary>
    public static void ScatterAdd<T>(T[] values, int vOff, long[] indices, int iOff, T[] dst, int planes, int srcPlane, int dstPlane)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(0, planes, Math.Max(1, (1 << 15) / Math.Max(1, srcPlane + dstPlane)), (values, vOff, indices, iOff, dst, srcPlane, dstPlane),
            static (in (T[] Values, int VOff, long[] Indices, int IOff, T[] Dst, int SrcPlane, int DstPlane) a, int c0, int c1) =>
        {
            var (values, vOff, indices, iOff, dst, srcPlane, dstPlane) = a;
            for (int c = c0; c < c1; c++)
            {
                var plane = dst.AsSpan(c * dstPlane, dstPlane);
                plane.Clear();
                int vp = vOff + c * srcPlane, ip = iOff + c * srcPlane;
                for (int j = 0; j < srcPlane; j++) plane[(int)indices[ip + j]] += values[vp + j];
            }
        });
    }

    /// <summary>y[plane, j] = x[plane, indices[plane, j]] for y, indices [B·C, P·Q] and x [B·C, H·W].</summary>
    public static void Gather<T>(T[] x, int xOff, long[] indices, int iOff, T[] y, int planes, int srcPlane, int dstPlane)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(0, planes, Math.Max(1, (1 << 15) / Math.Max(1, dstPlane)), (x, xOff, indices, iOff, y, srcPlane, dstPlane),
            static (in (T[] X, int XOff, long[] Indices, int IOff, T[] Y, int SrcPlane, int DstPlane) a, int c0, int c1) =>
        {
            var (x, xOff, indices, iOff, y, srcPlane, dstPlane) = a;
            for (int c = c0; c < c1; c++)
            {
                int xp = xOff + c * srcPlane, ip = iOff + c * dstPlane, yp = c * dstPlane;
                for (int j = 0; j < dstPlane; j++) y[yp + j] = x[xp + (int)indices[ip + j]];
            }
        });
    }
}
