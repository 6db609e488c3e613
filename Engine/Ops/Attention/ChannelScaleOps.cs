using System.Numerics;
using System.Runtime.Intrinsics;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

// Channel-wise scaling (squeeze-and-excitation) and its adjoint, the per-channel inner product. Each is the other's backward,
// so the pair is closed under differentiation: a create-graph pass through SE needs nothing else.
public static partial class F
{
    /// <summary>x [B,C,H,W] scaled per channel by s [B,C] (squeeze-and-excitation).</summary>
    public static Tensor ChannelScale(Tensor x, Tensor scale)
    {
        const string op = "channel_scale";
        CheckFloat(op, x);
        CheckPair(op, x, scale);
        CheckRank(op, x, 4, "[B,C,H,W]");
        if (scale.Rank != 2 || scale.Shape[0] != x.Shape[0] || scale.Shape[1] != x.Shape[1])
            throw new ArgumentException($"{op}: scale must be [B,C] = [{x.Shape[0]}x{x.Shape[1]}] for input {x.Describe()}, got {scale.Describe()}.");
        var y = Tensor.NewOutputLike(x);
        var dx = Dense(x);
        var ds = Dense(scale);
        if (!x.Device.IsCpu) DeviceOps.For(x).ChannelScale(dx, ds, y);
        else if (x.DType == DType.Float32) ChannelKernels.Scale<float>(dx, ds, y);
        else ChannelKernels.Scale<double>(dx, ds, y);
        ReleaseTemporary(dx, x);
        ReleaseTemporary(ds, scale);
        if (Autograd.Autograd.IsRecording(x, scale)) Autograd.Autograd.Record(y, new ChannelScaleBackward(x, scale));
        return y;
    }

    private sealed class ChannelScaleBackward(Tensor x, Tensor s) : Node("channel_scale", x, s)
    {
        private Tensor? _x = x, _s = s;

        public override Tensor?[] Backward(Tensor g) =>
        [
            NeedsGrad(0) ? ChannelScale(g, _s!) : null,
            NeedsGrad(1) ? ChannelDot(g, _x!) : null,
        ];

        protected override void ReleaseSaved() { _x = null; _s = null; }
    }

    /// <summary>Σ over H×W of a·b per (batch, channel): [B,C,H,W] × [B,C,H,W] → [B,C] (float32 sums accumulate in float64).</summary>
    public static Tensor ChannelDot(Tensor a, Tensor b)
    {
        const string op = "channel_dot";
        CheckFloat(op, a);
        CheckPair(op, a, b);
        CheckRank(op, a, 4, "[B,C,H,W]");
        if (!ShapeUtil.Same(a.Shape, b.Shape)) throw new ArgumentException($"{op}: expected tensors of the same shape, got {a.Describe()} and {b.Describe()}.");
        var y = Tensor.NewOutput([a.Shape[0], a.Shape[1]], a.DType, a.Device);
        var da = Dense(a);
        var db = Dense(b);
        if (!a.Device.IsCpu) DeviceOps.For(a).ChannelDot(da, db, y);
        else if (a.DType == DType.Float32) ChannelKernels.Dot<float>(da, db, y);
        else ChannelKernels.Dot<double>(da, db, y);
        ReleaseTemporary(da, a);
        ReleaseTemporary(db, b);
        if (Autograd.Autograd.IsRecording(a, b)) Autograd.Autograd.Record(y, new ChannelDotBackward(a, b));
        return y;
    }

    private sealed class ChannelDotBackward(Tensor a, Tensor b) : Node("channel_dot", a, b)
    {
        private Tensor? _a = a, _b = b;

        public override Tensor?[] Backward(Tensor g) =>
        [
            NeedsGrad(0) ? ChannelScale(_b!, g) : null,
            NeedsGrad(1) ? ChannelScale(_a!, g) : null,
        ];

        protected override void ReleaseSaved() { _a = null; _b = null; }
    }
}

/// <summary>Per-plane kernels over dense [B,C,H,W]: one plane (b, c) of H·W contiguous elements per work item.</summary>
internal static class ChannelKernels
{
    public static void Scale<T>(Tensor x, Tensor s, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] xs = x.HostArray<T>(), ss = s.HostArray<T>(), ys = y.HostArray<T>();
        int xo = x.Offset, so = s.Offset, planes = s.Numel, hw = planes == 0 ? 0 : x.Numel / planes;
        ForPlanes(planes, hw, (xs, xo, ss, so, ys, hw), static (in (T[] Xs, int Xo, T[] Ss, int So, T[] Ys, int Hw) a, int p0, int p1) =>
        {
            var (xs, xo, ss, so, ys, hw) = a;
            int w = Vector256<T>.Count;
            for (int p = p0; p < p1; p++)
            {
                var src = xs.AsSpan(xo + p * hw, hw);
                var dst = ys.AsSpan(p * hw, hw);
                T f = ss[so + p];
                var vf = Vector256.Create(f);
                int i = 0;
                for (; i <= hw - w; i += w) (Vector256.Create(src.Slice(i, w)) * vf).CopyTo(dst.Slice(i, w));
                for (; i < hw; i++) dst[i] = src[i] * f;
            }
        });
    }

    public static void Dot<T>(Tensor a, Tensor b, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] As = a.HostArray<T>(), bs = b.HostArray<T>(), ys = y.HostArray<T>();
        int ao = a.Offset, bo = b.Offset, planes = y.Numel, hw = planes == 0 ? 0 : a.Numel / planes;
        ForPlanes(planes, hw, (As, ao, bs, bo, ys, hw), static (in (T[] As, int Ao, T[] Bs, int Bo, T[] Ys, int Hw) a, int p0, int p1) =>
        {
            var (As, ao, bs, bo, ys, hw) = a;
            const int block = 1024;
            int w = Vector256<T>.Count;
            for (int p = p0; p < p1; p++)
            {
                var ra = As.AsSpan(ao + p * hw, hw);
                var rb = bs.AsSpan(bo + p * hw, hw);
                double total = 0;
                // Vector partial sums over short blocks, combined in float64, keep long planes accurate in float32.
                for (int start = 0; start < hw; start += block)
                {
                    int end = Math.Min(hw, start + block), i = start;
                    var acc = Vector256<T>.Zero;
                    for (; i <= end - w; i += w) acc += Vector256.Create(ra.Slice(i, w)) * Vector256.Create(rb.Slice(i, w));
                    T part = Vector256.Sum(acc);
                    for (; i < end; i++) part += ra[i] * rb[i];
                    total += double.CreateTruncating(part);
                }
                ys[p] = T.CreateTruncating(total);
            }
        });
    }

    private static void ForPlanes<TState>(int planes, int hw, in TState state, RangeBody<TState> body)
    {
        int minPlanes = Math.Max(1, (1 << 15) / Math.Max(1, hw));
        if ((long)planes * hw < 1 << 16) body(in state, 0, planes);
        else Parallelism.For(0, planes, minPlanes, in state, body);
    }
}
