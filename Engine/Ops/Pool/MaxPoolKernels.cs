using System.Numerics;
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
        int inPlane = h * w, outPlane = p * q;
        Parallelism.For(0, planes, Math.Max(1, (1 << 14) / Math.Max(1, outPlane * kernel * kernel)), (c0, c1) =>
        {
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

    // SegNet's 2x2/2 pool: every window is inside the plane, so the four taps are read directly. The comparisons run in the
    // general loop's scan order, so ties and NaNs resolve identically.
    private static void Window2x2<T>(T[] x, int xp, T[] y, long[] indices, int yp, int w, int p, int q) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int oh = 0; oh < p; oh++)
        {
            int r0 = xp + 2 * oh * w, r1 = r0 + w, o = yp + oh * q;
            int top = 2 * oh * w;
            for (int ow = 0; ow < q; ow++)
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

    /// <summary>dst [B·C, H·W] = 0, then dst[plane, indices[plane, j]] += values[plane, j] for every j of values [B·C, P·Q].</summary>
    public static void ScatterAdd<T>(T[] values, int vOff, long[] indices, int iOff, T[] dst, int planes, int srcPlane, int dstPlane)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(0, planes, Math.Max(1, (1 << 15) / Math.Max(1, srcPlane + dstPlane)), (c0, c1) =>
        {
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
        Parallelism.For(0, planes, Math.Max(1, (1 << 15) / Math.Max(1, dstPlane)), (c0, c1) =>
        {
            for (int c = c0; c < c1; c++)
            {
                int xp = xOff + c * srcPlane, ip = iOff + c * dstPlane, yp = c * dstPlane;
                for (int j = 0; j < dstPlane; j++) y[yp + j] = x[xp + (int)indices[ip + j]];
            }
        });
    }
}
