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
        if (p.DType == DType.Float32) Split(SgdWork<float>.ForThread(s), p, g, buffer, null);
        else Split(SgdWork<double>.ForThread(s), p, g, buffer, null);
    }

    /// <summary>One Adam step (PyTorch 1.13, no amsgrad): moments updated in place, then p ← p − step_size·m / (√v / √bc2 + eps).</summary>
    public static void Adam(Tensor p, Tensor g, Tensor expAvg, Tensor expAvgSq, AdamScalars s)
    {
        if (p.DType == DType.Float32) Split(AdamWork<float>.ForThread(s), p, g, expAvg, expAvgSq);
        else Split(AdamWork<double>.ForThread(s), p, g, expAvg, expAvgSq);
    }

    /// <summary>Runs <paramref name="work"/> over the elements in contiguous ranges, one per thread (inline when small).</summary>
    private static void Split<T>(UpdateWork<T> work, Tensor p, Tensor g, Tensor? a, Tensor? b) where T : unmanaged
    {
        work.P = p.HostArray<T>(); work.PO = p.Offset;
        work.G = g.HostArray<T>(); work.GO = g.Offset;
        work.A = a?.HostArray<T>(); work.AO = a?.Offset ?? 0;
        work.B = b?.HostArray<T>(); work.BO = b?.Offset ?? 0;
        work.N = p.Numel;
        try
        {
            int parts = Math.Max(1, work.N / MinChunk);
            if (parts <= 1) work.Execute(0, 1);
            else Parallelism.Run(work, parts);
        }
        finally
        {
            // Drop the array references so a cached work item does not keep storage alive.
            work.P = work.G = null; work.A = work.B = null;
        }
    }

    /// <summary>The arrays of one update and the range split; the kernel runs on spans of part <c>part</c>.</summary>
    private abstract class UpdateWork<T> : IParallelWork where T : unmanaged
    {
        public T[]? P, G, A, B;
        public int PO, GO, AO, BO, N;

        public void Execute(int part, int parts)
        {
            int s = (int)((long)N * part / parts), e = (int)((long)N * (part + 1) / parts);
            if (e <= s) return;
            int n = e - s;
            Run(P.AsSpan(PO + s, n), G.AsSpan(GO + s, n), A != null ? A.AsSpan(AO + s, n) : default, B != null ? B.AsSpan(BO + s, n) : default);
        }

        protected abstract void Run(Span<T> p, ReadOnlySpan<T> g, Span<T> a, Span<T> b);
    }

    private sealed class SgdWork<T> : UpdateWork<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static SgdWork<T>? _cached;
        private SgdScalars _s;

        public static SgdWork<T> ForThread(SgdScalars s)
        {
            var w = _cached ??= new SgdWork<T>();
            w._s = s;
            return w;
        }

        protected override void Run(Span<T> p, ReadOnlySpan<T> g, Span<T> a, Span<T> b) => SgdKernel(p, g, a, _s);
    }

    private sealed class AdamWork<T> : UpdateWork<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        [ThreadStatic] private static AdamWork<T>? _cached;
        private AdamScalars _s;

        public static AdamWork<T> ForThread(AdamScalars s)
        {
            var w = _cached ??= new AdamWork<T>();
            w._s = s;
            return w;
        }

        protected override void Run(Span<T> p, ReadOnlySpan<T> g, Span<T> a, Span<T> b) => AdamKernel(p, g, a, b, _s);
    }

    // Full optimisation from the first call: a training step calls these a few hundred times, too few for tiering to settle early.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
