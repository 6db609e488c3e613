using System.Numerics;
using Astmt.Engine.Cpu;
using Astmt.Engine.Memory;

namespace Astmt.Engine.Ops;

/// <summary>
/// CPU resize and its transpose. The per-axis taps are computed once per call into pooled arrays; planes (b,c) are split over
/// the threads, and each plane is computed by one thread in a fixed order, so results do not depend on the thread count.
/// </summary>
internal static class ResizeKernels
{
    /// <summary>y [B,C,OutH,OutW] = resize(x [B,C,InH,InW]).</summary>
    public static void Forward<T>(in ResizeGeometry g, T[] x, int xOff, T[] y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var geo = g;
        using var taps = new AxisTaps<T>(geo);
        int inPlane = geo.InH * geo.InW, outPlane = geo.OutH * geo.OutW;
        int[] hi = taps.H, wi = taps.W;
        T[] hl = taps.HL, wl = taps.WL;
        Parallelism.For(0, geo.B * geo.C, Math.Max(1, (1 << 14) / Math.Max(1, outPlane)), (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                int xp = xOff + p * inPlane, yp = p * outPlane;
                for (int oh = 0; oh < geo.OutH; oh++)
                {
                    int r0 = xp + hi[2 * oh] * geo.InW, r1 = xp + hi[2 * oh + 1] * geo.InW;
                    T a0 = hl[2 * oh], a1 = hl[2 * oh + 1];
                    int yr = yp + oh * geo.OutW;
                    if (geo.Mode == ResizeMode.Nearest)
                    {
                        for (int ow = 0; ow < geo.OutW; ow++) y[yr + ow] = x[r0 + wi[2 * ow]];
                        continue;
                    }
                    for (int ow = 0; ow < geo.OutW; ow++)
                    {
                        int c0 = wi[2 * ow], c1 = wi[2 * ow + 1];
                        T b0 = wl[2 * ow], b1 = wl[2 * ow + 1];
                        y[yr + ow] = a0 * (b0 * x[r0 + c0] + b1 * x[r0 + c1]) + a1 * (b0 * x[r1 + c0] + b1 * x[r1 + c1]);
                    }
                }
            }
        });
    }

    /// <summary>gx [B,C,InH,InW] = resizeᵀ(gy [B,C,OutH,OutW]): each output gradient is spread over the taps that made it (overwrites gx).</summary>
    public static void Backward<T>(in ResizeGeometry g, T[] gy, int gyOff, T[] gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var geo = g;
        using var taps = new AxisTaps<T>(geo);
        int inPlane = geo.InH * geo.InW, outPlane = geo.OutH * geo.OutW;
        int[] hi = taps.H, wi = taps.W;
        T[] hl = taps.HL, wl = taps.WL;
        Parallelism.For(0, geo.B * geo.C, Math.Max(1, (1 << 14) / Math.Max(1, outPlane)), (p0, p1) =>
        {
            for (int p = p0; p < p1; p++)
            {
                int xp = p * inPlane, yp = gyOff + p * outPlane;
                gx.AsSpan(xp, inPlane).Clear();
                for (int oh = 0; oh < geo.OutH; oh++)
                {
                    int r0 = xp + hi[2 * oh] * geo.InW, r1 = xp + hi[2 * oh + 1] * geo.InW;
                    T a0 = hl[2 * oh], a1 = hl[2 * oh + 1];
                    int yr = yp + oh * geo.OutW;
                    if (geo.Mode == ResizeMode.Nearest)
                    {
                        for (int ow = 0; ow < geo.OutW; ow++) gx[r0 + wi[2 * ow]] += gy[yr + ow];
                        continue;
                    }
                    for (int ow = 0; ow < geo.OutW; ow++)
                    {
                        int c0 = wi[2 * ow], c1 = wi[2 * ow + 1];
                        T b0 = wl[2 * ow], b1 = wl[2 * ow + 1];
                        T v = gy[yr + ow];
                        gx[r0 + c0] += a0 * b0 * v;
                        gx[r0 + c1] += a0 * b1 * v;
                        gx[r1 + c0] += a1 * b0 * v;
                        gx[r1 + c1] += a1 * b1 * v;
                    }
                }
            }
        });
    }

    /// <summary>Interleaved (i0, i1) indices and (l0, l1) weights per output row and column, in pooled arrays; weights are
    /// computed in float64 and stored in the tensor's precision.</summary>
    private readonly struct AxisTaps<T> : IDisposable where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly int[] H, W;
        public readonly T[] HL, WL;

        public AxisTaps(in ResizeGeometry g)
        {
            H = BufferPool.Rent<int>(2 * g.OutH, clear: false);
            HL = BufferPool.Rent<T>(2 * g.OutH, clear: false);
            W = BufferPool.Rent<int>(2 * g.OutW, clear: false);
            WL = BufferPool.Rent<T>(2 * g.OutW, clear: false);
            Fill(H, HL, g.InH, g.OutH, g.Mode, g.AlignCorners, g.StepH);
            Fill(W, WL, g.InW, g.OutW, g.Mode, g.AlignCorners, g.StepW);
        }

        private static void Fill(int[] idx, T[] lam, int input, int output, ResizeMode mode, bool alignCorners, double step)
        {
            for (int o = 0; o < output; o++)
            {
                var (i0, i1, l0, l1) = ResizeGeometry.Taps(o, input, output, mode, alignCorners, step);
                idx[2 * o] = i0; idx[2 * o + 1] = i1; lam[2 * o] = T.CreateTruncating(l0); lam[2 * o + 1] = T.CreateTruncating(l1);
            }
        }

        public void Dispose()
        {
            BufferPool.Return(H); BufferPool.Return(HL); BufferPool.Return(W); BufferPool.Return(WL);
        }
    }
}
