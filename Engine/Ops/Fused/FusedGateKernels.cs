using System.Numerics;
using System.Runtime.Intrinsics;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

/// <summary>
/// CPU loops of <see cref="F.AttentionGate"/> over dense [B,K,H,W]: one (b, k) plane per work item, Vector256 bodies with scalar
/// tails. Each element is computed independently, so results do not depend on the thread count.
/// </summary>
internal static class FusedGateKernels
{
    /// <summary>mask = σ((z − mean)·invstd·γ + β) per channel, y = mask ⊙ shared.</summary>
    public static void Forward<T>(Tensor z, Tensor mean, Tensor invstd, Tensor? gamma, Tensor? beta, Tensor shared, Tensor mask, Tensor y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] zs = z.HostArray<T>(), ss = shared.HostArray<T>(), ms = mask.HostArray<T>(), ys = y.HostArray<T>();
        T[] mu = mean.HostArray<T>(), istd = invstd.HostArray<T>();
        T[]? g = gamma?.HostArray<T>(), b = beta?.HostArray<T>();
        int go = gamma?.Offset ?? 0, bo = beta?.Offset ?? 0, so = shared.Offset;
        int channels = z.Shape[1], hw = z.Shape[2] * z.Shape[3], planes = z.Shape[0] * channels;
        Parallelism.For(0, planes, MinPlanes(hw), new ForwardArgs<T>(zs, ss, ms, ys, mu, istd, g, b, go, bo, so, channels, hw),
            static (in ForwardArgs<T> args, int p0, int p1) =>
        {
            var (zs, ss, ms, ys, mu, istd, g, b, go, bo, so, channels, hw) = args;
            var sigmoid = default(SigmoidKernel<T>);
            int w = Vector256<T>.Count;
            for (int p = p0; p < p1; p++)
            {
                int c = p % channels, off = p * hw;
                T scale = istd[c] * (g == null ? T.One : g[go + c]);
                T shift = (b == null ? T.Zero : b[bo + c]) - mu[c] * scale;
                var zp = zs.AsSpan(off, hw);
                var sp = ss.AsSpan(so + off, hw);
                var mp = ms.AsSpan(off, hw);
                var yp = ys.AsSpan(off, hw);
                Vector256<T> vs = Vector256.Create(scale), vt = Vector256.Create(shift);
                int i = 0;
                for (; i <= hw - w; i += w)
                {
                    var a = sigmoid.Apply(Vector256.Create(zp.Slice(i, w)) * vs + vt);
                    a.CopyTo(mp.Slice(i, w));
                    (a * Vector256.Create(sp.Slice(i, w))).CopyTo(yp.Slice(i, w));
                }
                for (; i < hw; i++)
                {
                    T a = sigmoid.Apply(zp[i] * scale + shift);
                    mp[i] = a;
                    yp[i] = a * sp[i];
                }
            }
        });
    }

    /// <summary>gShared = g ⊙ mask (when wanted) and gBn = g ⊙ shared ⊙ mask ⊙ (1 − mask): the gradient at the BN output.</summary>
    public static void Backward<T>(Tensor gy, Tensor shared, Tensor mask, Tensor? gShared, Tensor gBn) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] gs = gy.HostArray<T>(), ss = shared.HostArray<T>(), ms = mask.HostArray<T>(), bs = gBn.HostArray<T>();
        T[]? outShared = gShared?.HostArray<T>();
        int gOff = gy.Offset, sOff = shared.Offset, n = gBn.Numel;
        Parallelism.For(0, n, 1 << 15, new BackwardArgs<T>(gs, ss, ms, bs, outShared, gOff, sOff),
            static (in BackwardArgs<T> args, int i0, int i1) =>
        {
            var (gs, ss, ms, bs, outShared, gOff, sOff) = args;
            int w = Vector256<T>.Count, i = i0;
            var one = Vector256<T>.One;
            for (; i <= i1 - w; i += w)
            {
                var g = Vector256.Create(gs.AsSpan(gOff + i, w));
                var a = Vector256.Create(ms.AsSpan(i, w));
                if (outShared != null) (g * a).CopyTo(outShared.AsSpan(i, w));
                (g * Vector256.Create(ss.AsSpan(sOff + i, w)) * a * (one - a)).CopyTo(bs.AsSpan(i, w));
            }
            for (; i < i1; i++)
            {
                T g = gs[gOff + i], a = ms[i];
                if (outShared != null) outShared[i] = g * a;
                bs[i] = g * ss[sOff + i] * a * (T.One - a);
            }
        });
    }

    // The loops' inputs, passed as state so that they allocate no closure.
    private readonly record struct ForwardArgs<T>(T[] Zs, T[] Ss, T[] Ms, T[] Ys, T[] Mu, T[] Istd, T[]? G, T[]? B, int Go, int Bo, int So, int Channels, int Hw);

    private readonly record struct BackwardArgs<T>(T[] Gs, T[] Ss, T[] Ms, T[] Bs, T[]? OutShared, int GOff, int SOff);

    // Below ~64K elements per thread the fork costs more than it saves (the wake-up and the wait for the slower part).
    private static int MinPlanes(int hw) => Math.Max(1, (1 << 16) / Math.Max(1, hw));
}
