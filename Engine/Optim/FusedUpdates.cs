using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Optim;

/// <summary>
/// The SGD and Adam updates as single passes over parameter, gradient and state (Vector256 with scalar tails), split over the
/// CPU threads in contiguous ranges. Each element's arithmetic follows PyTorch 1.13's order of operations, so float32
/// trajectories agree with PyTorch to rounding.
/// </summary>
internal static class FusedUpdates
{
    /// <summary>Tensors smaller than this are updated on the calling thread: the split costs more than it saves.</summary>
    private const int MinChunk = 1 << 15;

    /// <summary>SGD scalars: PyTorch's lr, weight_decay, momentum, dampening, nesterov, and whether the momentum buffer is new.</summary>
    public readonly record struct SgdScalars(double LearningRate, double WeightDecay, double Momentum, double Dampening, bool Nesterov, bool FirstStep);

    /// <summary>Adam scalars for one step of one parameter (bias corrections already folded in).</summary>
    public readonly record struct AdamScalars(double StepSize, double Beta1, double Beta2, double Eps, double WeightDecay, double BiasCorrection2Sqrt);

    /// <summary>p ← p − lr·d with d the (weight-decayed, momentum, optionally Nesterov) gradient; <paramref name="buffer"/> is
    /// null when momentum is 0. All tensors contiguous, same shape and dtype.</summary>
    public static void Sgd(Tensor p, Tensor g, Tensor? buffer, SgdScalars s)
    {
        if (p.DType == DType.Float32) Split<float>(p, g, buffer, null, (pa, ga, ba, _) => SgdKernel(pa, ga, ba, s));
        else Split<double>(p, g, buffer, null, (pa, ga, ba, _) => SgdKernel(pa, ga, ba, s));
    }

    /// <summary>One Adam step (PyTorch 1.13, no amsgrad): moments updated in place, then p ← p − step_size·m / (√v / √bc2 + eps).</summary>
    public static void Adam(Tensor p, Tensor g, Tensor expAvg, Tensor expAvgSq, AdamScalars s)
    {
        if (p.DType == DType.Float32) Split<float>(p, g, expAvg, expAvgSq, (pa, ga, ma, va) => AdamKernel(pa, ga, ma, va, s));
        else Split<double>(p, g, expAvg, expAvgSq, (pa, ga, ma, va) => AdamKernel(pa, ga, ma, va, s));
    }

    private delegate void Kernel<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> a, Span<T> b);

    /// <summary>Runs <paramref name="kernel"/> over [0, n) in contiguous ranges, one per thread.</summary>
    private static void Split<T>(Tensor p, Tensor g, Tensor? a, Tensor? b, Kernel<T> kernel) where T : unmanaged
    {
        int n = p.Numel;
        if (n < 2 * MinChunk)
        {
            kernel(p.Span<T>(), g.Span<T>(), a != null ? a.Span<T>() : default, b != null ? b.Span<T>() : default);
            return;
        }
        T[] pa = p.HostArray<T>(), ga = g.HostArray<T>();
        T[]? aa = a?.HostArray<T>(), ba = b?.HostArray<T>();
        int po = p.Offset, go = g.Offset, ao = a?.Offset ?? 0, bo = b?.Offset ?? 0;
        Parallelism.For(0, n, MinChunk, (start, end) => kernel(
            pa.AsSpan(po + start, end - start),
            ga.AsSpan(go + start, end - start),
            aa != null ? aa.AsSpan(ao + start, end - start) : default,
            ba != null ? ba.AsSpan(bo + start, end - start) : default));
    }

    private static void SgdKernel<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> buf, SgdScalars s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T lr = T.CreateTruncating(s.LearningRate), wd = T.CreateTruncating(s.WeightDecay), mom = T.CreateTruncating(s.Momentum);
        T keep = T.CreateTruncating(1 - s.Dampening);
        bool decay = s.WeightDecay != 0, momentum = s.Momentum != 0, nesterov = s.Nesterov, first = s.FirstStep;
        var vlr = Vector256.Create(lr); var vwd = Vector256.Create(wd); var vmom = Vector256.Create(mom); var vkeep = Vector256.Create(keep);
        ref T rp = ref MemoryMarshal.GetReference(p);
        ref T rg = ref MemoryMarshal.GetReference(g);
        ref T rb = ref MemoryMarshal.GetReference(buf);
        int n = p.Length, w = Vector256<T>.Count, i = 0;
        for (; i <= n - w; i += w)
        {
            var vp = Vector256.LoadUnsafe(ref rp, (nuint)i);
            var d = Vector256.LoadUnsafe(ref rg, (nuint)i);
            if (decay) d += vwd * vp;
            if (momentum)
            {
                var vb = first ? d : Vector256.LoadUnsafe(ref rb, (nuint)i) * vmom + vkeep * d;
                vb.StoreUnsafe(ref rb, (nuint)i);
                d = nesterov ? d + vmom * vb : vb;
            }
            (vp - vlr * d).StoreUnsafe(ref rp, (nuint)i);
        }
        for (; i < n; i++)
        {
            T d = Unsafe.Add(ref rg, i);
            ref T pi = ref Unsafe.Add(ref rp, i);
            if (decay) d += wd * pi;
            if (momentum)
            {
                ref T bi = ref Unsafe.Add(ref rb, i);
                bi = first ? d : bi * mom + keep * d;
                d = nesterov ? d + mom * bi : bi;
            }
            pi -= lr * d;
        }
    }

    private static void AdamKernel<T>(Span<T> p, ReadOnlySpan<T> g, Span<T> m, Span<T> v, AdamScalars s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T b1 = T.CreateTruncating(s.Beta1), b2 = T.CreateTruncating(s.Beta2);
        T keep1 = T.CreateTruncating(1 - s.Beta1), keep2 = T.CreateTruncating(1 - s.Beta2);
        T eps = T.CreateTruncating(s.Eps), wd = T.CreateTruncating(s.WeightDecay);
        T stepSize = T.CreateTruncating(s.StepSize), bc2 = T.CreateTruncating(s.BiasCorrection2Sqrt);
        bool decay = s.WeightDecay != 0;
        var vb1 = Vector256.Create(b1); var vb2 = Vector256.Create(b2); var vk1 = Vector256.Create(keep1); var vk2 = Vector256.Create(keep2);
        var veps = Vector256.Create(eps); var vwd = Vector256.Create(wd); var vstep = Vector256.Create(stepSize); var vbc2 = Vector256.Create(bc2);
        ref T rp = ref MemoryMarshal.GetReference(p);
        ref T rg = ref MemoryMarshal.GetReference(g);
        ref T rm = ref MemoryMarshal.GetReference(m);
        ref T rv = ref MemoryMarshal.GetReference(v);
        int n = p.Length, w = Vector256<T>.Count, i = 0;
        for (; i <= n - w; i += w)
        {
            var vp = Vector256.LoadUnsafe(ref rp, (nuint)i);
            var vg = Vector256.LoadUnsafe(ref rg, (nuint)i);
            if (decay) vg += vwd * vp;
            var vm = Vector256.LoadUnsafe(ref rm, (nuint)i) * vb1 + vk1 * vg;
            var vv = Vector256.LoadUnsafe(ref rv, (nuint)i) * vb2 + vk2 * vg * vg;
            vm.StoreUnsafe(ref rm, (nuint)i);
            vv.StoreUnsafe(ref rv, (nuint)i);
            var denom = Vector256.Sqrt(vv) / vbc2 + veps;
            (vp - vstep * (vm / denom)).StoreUnsafe(ref rp, (nuint)i);
        }
        for (; i < n; i++)
        {
            T gi = Unsafe.Add(ref rg, i);
            ref T pi = ref Unsafe.Add(ref rp, i);
            if (decay) gi += wd * pi;
            ref T mi = ref Unsafe.Add(ref rm, i);
            ref T vi = ref Unsafe.Add(ref rv, i);
            mi = mi * b1 + keep1 * gi;
            vi = vi * b2 + keep2 * gi * gi;
            T denom = T.Sqrt(vi) / bc2 + eps;
            pi -= stepSize * (mi / denom);
        }
    }
}
