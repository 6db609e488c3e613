using System.Numerics;
using System.Runtime.Intrinsics;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cpu;
using Astmt.Engine.Memory;

namespace Astmt.Engine.Ops;

// Squeeze-and-excitation as one op. The image-sized work is two passes forward (channel means, then the scaling) and two
// backward (the per-channel inner product ⟨g, x⟩, then g·a + gs/HW); the excitation MLP on [B,C] is a few thousand
// multiply-adds done in float64 on the calling thread. The unfused chain makes five image-sized passes backward.
public static partial class F
{
    /// <summary>
    /// Squeeze-and-excitation: with s = mean over H×W of x [B,C,H,W], a = σ(W2·ReLU(W1·s + b1) + b2), returns x scaled by a per
    /// channel. w1 [R,C], b1 [R], w2 [C,R], b2 [C] as <see cref="Linear"/> weights (R = C / reduction). Differentiable to any
    /// order (create-graph passes fall back to the unfused composition).
    /// </summary>
    public static Tensor SqueezeExcite(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2)
    {
        const string op = "squeeze_excite";
        CheckFloat(op, x);
        CheckRank(op, x, 4, "B,C,H,W");
        int channels = x.Shape[1];
        CheckPair(op, x, w1);
        CheckPair(op, x, w2);
        if (w1.Rank != 2 || w1.Shape[1] != channels || w1.Shape[0] < 1)
            throw new ArgumentException($"{op}: w1 must be [R,C] with C = {channels} for x {x.Describe()}, got {w1.Describe()}.");
        int hidden = w1.Shape[0];
        if (w2.Rank != 2 || w2.Shape[0] != channels || w2.Shape[1] != hidden)
            throw new ArgumentException($"{op}: w2 must be [C,R] = [{channels}x{hidden}] for w1 {w1.Describe()}, got {w2.Describe()}.");
        if (b1 != null && (b1.Rank != 1 || b1.Shape[0] != hidden)) throw new ArgumentException($"{op}: b1 must be [R] = [{hidden}], got {b1.Describe()}.");
        if (b2 != null && (b2.Rank != 1 || b2.Shape[0] != channels)) throw new ArgumentException($"{op}: b2 must be [C] = [{channels}], got {b2.Describe()}.");
        if (b1 != null) CheckPair(op, x, b1);
        if (b2 != null) CheckPair(op, x, b2);
        if (!x.Device.IsCpu) return SqueezeExciteComposed(x, w1, b1, w2, b2);

        int batch = x.Shape[0];
        var xd = Dense(x);
        var squeezed = Tensor.NewOutput([batch, channels], x.DType, x.Device);
        var hiddenAct = Tensor.NewOutput([batch, hidden], x.DType, x.Device);
        var excitation = Tensor.NewOutput([batch, channels], x.DType, x.Device);
        var y = Tensor.NewOutputLike(x);
        if (x.DType == DType.Float32)
        {
            SqueezeExciteKernels.Squeeze<float>(xd, squeezed);
            SqueezeExciteKernels.Excite<float>(squeezed, Dense(w1), b1 == null ? null : Dense(b1), Dense(w2), b2 == null ? null : Dense(b2), hiddenAct, excitation);
            ChannelKernels.Scale<float>(xd, excitation, y);
        }
        else
        {
            SqueezeExciteKernels.Squeeze<double>(xd, squeezed);
            SqueezeExciteKernels.Excite<double>(squeezed, Dense(w1), b1 == null ? null : Dense(b1), Dense(w2), b2 == null ? null : Dense(b2), hiddenAct, excitation);
            ChannelKernels.Scale<double>(xd, excitation, y);
        }
        if (Autograd.Autograd.IsRecording([x, w1, b1, w2, b2]))
            return Autograd.Autograd.Record(y, new SqueezeExciteBackward(x, w1, b1, w2, b2, squeezed, hiddenAct, excitation));
        if (!squeezed.InArena) { squeezed.Dispose(); hiddenAct.Dispose(); excitation.Dispose(); }
        return y;
    }

    /// <summary>Squeeze-and-excitation as the chain of separate ops (the oracle of the fused op and its create-graph path).</summary>
    internal static Tensor SqueezeExciteComposed(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2) =>
        ChannelScale(x, Sigmoid(Linear(Relu(Linear(Mean(x, [2, 3]), w1, b1)), w2, b2)));

    private sealed class SqueezeExciteBackward(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, Tensor squeezed, Tensor hidden, Tensor excitation)
        : Node("squeeze_excite", x, w1, b1, w2, b2)
    {
        private Tensor? _x = x, _w1 = w1, _b1 = b1, _w2 = w2, _b2 = b2, _s = squeezed, _h = hidden, _a = excitation;

        public override Tensor?[] Backward(Tensor g) =>
            GradMode.Enabled ? GradOfChain(SqueezeExciteComposed(_x!, _w1!, _b1, _w2!, _b2), Inputs, g) : Fused(g);

        private Tensor?[] Fused(Tensor g)
        {
            Tensor x = Dense(_x!), gd = Dense(g);
            int batch = x.Shape[0], channels = x.Shape[1], hidden = _w1!.Shape[0];
            var gExcitation = Tensor.NewOutput([batch, channels], x.DType, x.Device);
            var gSqueezed = Tensor.NewOutput([batch, channels], x.DType, x.Device);
            var gw1 = NeedsGrad(1) ? Tensor.NewOutput([hidden, channels], x.DType, x.Device) : null;
            var gb1 = NeedsGrad(2) ? Tensor.NewOutput([hidden], x.DType, x.Device) : null;
            var gw2 = NeedsGrad(3) ? Tensor.NewOutput([channels, hidden], x.DType, x.Device) : null;
            var gb2 = NeedsGrad(4) ? Tensor.NewOutput([channels], x.DType, x.Device) : null;
            var gx = NeedsGrad(0) ? Tensor.NewOutputLike(x) : null;
            if (x.DType == DType.Float32)
            {
                ChannelKernels.Dot<float>(gd, x, gExcitation);
                SqueezeExciteKernels.ExciteBackward<float>(gExcitation, _s!, _h!, _a!, Dense(_w1), Dense(_w2!), gSqueezed, gw1, gb1, gw2, gb2);
                if (gx != null) SqueezeExciteKernels.InputGrad<float>(gd, _a!, gSqueezed, gx);
            }
            else
            {
                ChannelKernels.Dot<double>(gd, x, gExcitation);
                SqueezeExciteKernels.ExciteBackward<double>(gExcitation, _s!, _h!, _a!, Dense(_w1), Dense(_w2!), gSqueezed, gw1, gb1, gw2, gb2);
                if (gx != null) SqueezeExciteKernels.InputGrad<double>(gd, _a!, gSqueezed, gx);
            }
            return [gx, gw1, gb1, gw2, gb2];
        }

        protected override void ReleaseSaved() => _x = _w1 = _b1 = _w2 = _b2 = _s = _h = _a = null;
    }
}

/// <summary>CPU pieces of <see cref="F.SqueezeExcite"/>. Image-sized loops run one (b, c) plane per work item; the MLP on [B,C]
/// runs in float64 in a fixed order. Results do not depend on the thread count.</summary>
internal static class SqueezeExciteKernels
{
    /// <summary>s [B,C] = mean over H×W of x [B,C,H,W] (summed in float64).</summary>
    public static void Squeeze<T>(Tensor x, Tensor s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] xs = x.HostArray<T>(), ss = s.HostArray<T>();
        int xo = x.Offset, planes = s.Numel, hw = planes == 0 ? 0 : x.Numel / planes;
        double inv = 1.0 / Math.Max(1, hw);
        Parallelism.For(0, planes, Math.Max(1, (1 << 15) / Math.Max(1, hw)), (xs, xo, ss, hw, inv),
            static (in (T[] Xs, int Xo, T[] Ss, int Hw, double Inv) a, int p0, int p1) =>
        {
            var (xs, xo, ss, hw, inv) = a;
            for (int p = p0; p < p1; p++) ss[p] = T.CreateTruncating(VectorMath.Sum<T>(xs.AsSpan(xo + p * hw, hw)) * inv);
        });
    }

    /// <summary>hidden [B,R] = ReLU(s·w1ᵀ + b1), a [B,C] = σ(hidden·w2ᵀ + b2).</summary>
    public static void Excite<T>(Tensor s, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, Tensor hidden, Tensor a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = s.Shape[0], channels = s.Shape[1], r = w1.Shape[0];
        ReadOnlySpan<T> sv = s.Span<T>(), w1v = w1.Span<T>(), w2v = w2.Span<T>();
        ReadOnlySpan<T> b1v = b1 == null ? default : b1.Span<T>(), b2v = b2 == null ? default : b2.Span<T>();
        Span<T> hv = hidden.Span<T>(), av = a.Span<T>();
        for (int b = 0; b < batch; b++)
        {
            var sRow = sv.Slice(b * channels, channels);
            for (int j = 0; j < r; j++)
            {
                double z = (b1 == null ? 0 : double.CreateTruncating(b1v[j])) + Dot(w1v.Slice(j * channels, channels), sRow);
                hv[b * r + j] = T.CreateTruncating(Math.Max(z, 0));
            }
            var hRow = hv.Slice(b * r, r);
            for (int c = 0; c < channels; c++)
            {
                double z = (b2 == null ? 0 : double.CreateTruncating(b2v[c])) + Dot(w2v.Slice(c * r, r), hRow);
                av[b * channels + c] = T.CreateTruncating(1 / (1 + Math.Exp(-z)));
            }
        }
    }

    /// <summary>
    /// Backward of the MLP given ga [B,C] = ⟨g, x⟩ per channel: gz2 = ga·a·(1 − a), gw2 = gz2ᵀ·hidden, gb2 = Σ_b gz2,
    /// gh = (hidden &gt; 0)·(gz2·w2), gw1 = ghᵀ·s, gb1 = Σ_b gh, and gs [B,C] = gh·w1 (the gradient of the channel means).
    /// </summary>
    public static void ExciteBackward<T>(Tensor ga, Tensor s, Tensor hidden, Tensor a, Tensor w1, Tensor w2, Tensor gs,
        Tensor? gw1, Tensor? gb1, Tensor? gw2, Tensor? gb2) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int batch = s.Shape[0], channels = s.Shape[1], r = w1.Shape[0];
        var gz2 = BufferPool.Rent<double>(batch * channels, clear: false);
        var gh = BufferPool.Rent<double>(batch * r, clear: true);
        try
        {
            ReadOnlySpan<T> gav = ga.Span<T>(), av = a.Span<T>(), hv = hidden.Span<T>(), sv = s.Span<T>(), w1v = w1.Span<T>(), w2v = w2.Span<T>();
            for (int i = 0; i < batch * channels; i++)
            {
                double ai = double.CreateTruncating(av[i]);
                gz2[i] = double.CreateTruncating(gav[i]) * ai * (1 - ai);
            }
            for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
            {
                double d = gz2[b * channels + c];
                if (d == 0) continue;
                var w2Row = w2v.Slice(c * r, r);
                for (int j = 0; j < r; j++) gh[b * r + j] += d * double.CreateTruncating(w2Row[j]);
            }
            for (int i = 0; i < batch * r; i++) if (!(hv[i] > T.Zero)) gh[i] = 0;
            if (gw2 != null)
            {
                var o = gw2.Span<T>();
                for (int c = 0; c < channels; c++)
                for (int j = 0; j < r; j++)
                {
                    double acc = 0;
                    for (int b = 0; b < batch; b++) acc += gz2[b * channels + c] * double.CreateTruncating(hv[b * r + j]);
                    o[c * r + j] = T.CreateTruncating(acc);
                }
            }
            if (gb2 != null)
            {
                var o = gb2.Span<T>();
                for (int c = 0; c < channels; c++)
                {
                    double acc = 0;
                    for (int b = 0; b < batch; b++) acc += gz2[b * channels + c];
                    o[c] = T.CreateTruncating(acc);
                }
            }
            if (gw1 != null)
            {
                var o = gw1.Span<T>();
                for (int j = 0; j < r; j++)
                for (int c = 0; c < channels; c++)
                {
                    double acc = 0;
                    for (int b = 0; b < batch; b++) acc += gh[b * r + j] * double.CreateTruncating(sv[b * channels + c]);
                    o[j * channels + c] = T.CreateTruncating(acc);
                }
            }
            if (gb1 != null)
            {
                var o = gb1.Span<T>();
                for (int j = 0; j < r; j++)
                {
                    double acc = 0;
                    for (int b = 0; b < batch; b++) acc += gh[b * r + j];
                    o[j] = T.CreateTruncating(acc);
                }
            }
            var gsv = gs.Span<T>();
            for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
            {
                double acc = 0;
                for (int j = 0; j < r; j++) acc += gh[b * r + j] * double.CreateTruncating(w1v[j * channels + c]);
                gsv[b * channels + c] = T.CreateTruncating(acc);
            }
        }
        finally
        {
            BufferPool.Return(gz2);
            BufferPool.Return(gh);
        }
    }

    /// <summary>gx = g·a + gs / (H·W) per (b, c) plane: the scaling's gradient plus the spread of the channel-mean gradient.</summary>
    public static void InputGrad<T>(Tensor g, Tensor a, Tensor gs, Tensor gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] gv = g.HostArray<T>(), av = a.HostArray<T>(), sv = gs.HostArray<T>(), ov = gx.HostArray<T>();
        int go = g.Offset, planes = a.Numel, hw = planes == 0 ? 0 : gx.Numel / planes;
        T inv = T.One / T.CreateTruncating(Math.Max(1, hw));
        Parallelism.For(0, planes, Math.Max(1, (1 << 15) / Math.Max(1, hw)), (gv, av, sv, ov, go, hw, inv),
            static (in (T[] Gv, T[] Av, T[] Sv, T[] Ov, int Go, int Hw, T Inv) a, int p0, int p1) =>
        {
            var (gv, av, sv, ov, go, hw, inv) = a;
            int w = Vector256<T>.Count;
            for (int p = p0; p < p1; p++)
            {
                var src = gv.AsSpan(go + p * hw, hw);
                var dst = ov.AsSpan(p * hw, hw);
                T scale = av[p], shift = sv[p] * inv;
                Vector256<T> vs = Vector256.Create(scale), vt = Vector256.Create(shift);
                int i = 0;
                for (; i <= hw - w; i += w) (Vector256.Create(src.Slice(i, w)) * vs + vt).CopyTo(dst.Slice(i, w));
                for (; i < hw; i++) dst[i] = src[i] * scale + shift;
            }
        });
    }

    private static double Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double acc = 0;
        for (int i = 0; i < a.Length; i++) acc += double.CreateTruncating(a[i]) * double.CreateTruncating(b[i]);
        return acc;
    }
}
