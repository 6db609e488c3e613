using System.Numerics;
using Astmt.Engine.Cpu;
using Astmt.Engine.Memory;

namespace Astmt.Engine.Ops;

/// <summary>
/// CPU resize and its transpose. The per-axis taps are computed once per call into pooled arrays; planes (b,c) are split over
/// the threads, and each plane is computed by one thread in a fixed order, so results do not depend on the thread count.
/// Bilinear is separable: each output row first blends its two source rows (a vector loop over the input width), then reads
/// two taps of that blend per output column; the transpose runs the same two steps backwards.
/// </summary>
internal static class ResizeKernels
{
    /// <summary>y [B,C,OutH,OutW] = resize(x [B,C,InH,InW]).</summary>
    public static void Forward<T>(in ResizeGeometry g, T[] x, int xOff, T[] y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var geo = g;
        using var taps = new AxisTaps<T>(geo);
        var t = taps;
        int inPlane = geo.InH * geo.InW, outPlane = geo.OutH * geo.OutW;
        Parallelism.For(0, geo.B * geo.C, Math.Max(1, (1 << 14) / Math.Max(1, outPlane)), new PlaneArgs<T>(geo, t, x, xOff, y, inPlane, outPlane),
            static (in PlaneArgs<T> a, int p0, int p1) =>
        {
            var (geo, t, x, xOff, y, inPlane, outPlane) = a;
            var blend = BufferPool.Rent<T>(geo.InW, clear: false);
            try
            {
                for (int p = p0; p < p1; p++) ForwardPlane(geo, t, x, xOff + p * inPlane, y, p * outPlane, blend);
            }
            finally
            {
                BufferPool.Return(blend);
            }
        });
    }

    /// <summary>gx [B,C,InH,InW] = resizeᵀ(gy [B,C,OutH,OutW]): each output gradient is spread over the taps that made it (overwrites gx).</summary>
    public static void Backward<T>(in ResizeGeometry g, T[] gy, int gyOff, T[] gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var geo = g;
        using var taps = new AxisTaps<T>(geo);
        var t = taps;
        int inPlane = geo.InH * geo.InW, outPlane = geo.OutH * geo.OutW;
        Parallelism.For(0, geo.B * geo.C, Math.Max(1, (1 << 14) / Math.Max(1, outPlane)), new PlaneArgs<T>(geo, t, gy, gyOff, gx, inPlane, outPlane),
            static (in PlaneArgs<T> a, int p0, int p1) =>
        {
            var (geo, t, gy, gyOff, gx, inPlane, outPlane) = a;
            var spread = BufferPool.Rent<T>(geo.InW, clear: false);
            try
            {
                for (int p = p0; p < p1; p++) BackwardPlane(geo, t, gy, gyOff + p * outPlane, gx, p * inPlane, spread);
            }
            finally
            {
                BufferPool.Return(spread);
            }
        });
    }

    // A parallel loop's inputs (source, its offset, destination), passed as state so that it allocates no closure.
    private readonly record struct PlaneArgs<T>(ResizeGeometry Geo, AxisTaps<T> Taps, T[] Source, int SourceOffset, T[] Destination, int InPlane, int OutPlane)
        where T : unmanaged, IFloatingPointIeee754<T>;

    private static void ForwardPlane<T>(in ResizeGeometry g, in AxisTaps<T> t, T[] x, int xp, T[] y, int yp, T[] blend)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] hi = t.H, wi = t.W;
        T[] hl = t.HL, wl = t.WL;
        for (int oh = 0; oh < g.OutH; oh++)
        {
            int r0 = xp + hi[2 * oh] * g.InW, r1 = xp + hi[2 * oh + 1] * g.InW, yr = yp + oh * g.OutW;
            if (g.Mode == ResizeMode.Nearest)
            {
                for (int ow = 0; ow < g.OutW; ow++) y[yr + ow] = x[r0 + wi[2 * ow]];
                continue;
            }
            // Blend the two source rows across the whole input width, then read two taps of the blend per output column.
            VectorMath.Axpby<T>(blend, x.AsSpan(r0, g.InW), hl[2 * oh], x.AsSpan(r1, g.InW), hl[2 * oh + 1]);
            for (int ow = 0; ow < g.OutW; ow++)
                y[yr + ow] = wl[2 * ow] * blend[wi[2 * ow]] + wl[2 * ow + 1] * blend[wi[2 * ow + 1]];
        }
    }

    private static void BackwardPlane<T>(in ResizeGeometry g, in AxisTaps<T> t, T[] gy, int yp, T[] gx, int xp, T[] spread)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] hi = t.H, wi = t.W;
        T[] hl = t.HL, wl = t.WL;
        gx.AsSpan(xp, g.InH * g.InW).Clear();
        for (int oh = 0; oh < g.OutH; oh++)
        {
            int r0 = xp + hi[2 * oh] * g.InW, r1 = xp + hi[2 * oh + 1] * g.InW, yr = yp + oh * g.OutW;
            if (g.Mode == ResizeMode.Nearest)
            {
                for (int ow = 0; ow < g.OutW; ow++) gx[r0 + wi[2 * ow]] += gy[yr + ow];
                continue;
            }
            // Spread the output row over the input width, then add it to the two source rows with their weights.
            var s = spread.AsSpan(0, g.InW);
            s.Clear();
            for (int ow = 0; ow < g.OutW; ow++)
            {
                T v = gy[yr + ow];
                s[wi[2 * ow]] += wl[2 * ow] * v;
                s[wi[2 * ow + 1]] += wl[2 * ow + 1] * v;
            }
            var row0 = gx.AsSpan(r0, g.InW);
            VectorMath.Axpby<T>(row0, row0, T.One, s, hl[2 * oh]);
            var row1 = gx.AsSpan(r1, g.InW);
            VectorMath.Axpby<T>(row1, row1, T.One, s, hl[2 * oh + 1]);
        }
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
