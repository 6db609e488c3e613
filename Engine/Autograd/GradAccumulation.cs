using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Astmt.Engine.Autograd;

/// <summary>
/// In-place accumulation of gradients: into a leaf's persistent <see cref="Tensor.Grad"/> buffer, and the fused path by which a node
/// that <see cref="Node.AccumulatesInPlace"/> adds its input gradient straight into a buffer the backward owns exclusively.
/// </summary>
internal static class GradAccumulation
{
    // Below this many elements a parallel region costs more than it saves.
    private const int MinParallelChunk = 1 << 15;

    /// <summary>Turns the fused path off on this thread (tests compare it with the unfused one).</summary>
    [ThreadStatic] internal static bool FusionDisabled;

    /// <summary>How many node backwards on this thread were replaced by an in-place accumulation (tests check the path is taken).</summary>
    [ThreadStatic] internal static long FusedCount;

    public static void AddInPlace(Tensor dst, Tensor src)
    {
        if (!ShapeUtil.Same(dst.Shape, src.Shape) || dst.DType != src.DType)
            throw new InvalidOperationException($"Gradient accumulation: {src.Describe()} cannot be added to {dst.Describe()}.");
        if (!dst.Device.IsCpu)
        {
            Ops.DeviceOps.For(dst).AddInPlace(dst, src);
            return;
        }
        var s = src.IsContiguous ? src : src.ContiguousCopy();
        if (dst.DType == DType.Float32) Cpu.VectorMath.AddInPlace(dst.Span<float>(), s.Span<float>());
        else Cpu.VectorMath.AddInPlace(dst.Span<double>(), s.Span<double>());
    }

    /// <summary><paramref name="acc"/> = (<paramref name="accumulate"/> ? <paramref name="acc"/> : 0) − <paramref name="lambda"/>·<paramref name="g"/>
    /// in one pass (gradient reversal's backward); <paramref name="acc"/> may be <paramref name="g"/> itself. Both dense, same shape.</summary>
    public static void ReverseAccumulate(Tensor acc, Tensor g, double lambda, bool accumulate)
    {
        if (!ShapeUtil.Same(acc.Shape, g.Shape) || acc.DType != g.DType || acc.Device != g.Device || !acc.IsContiguous || !g.IsContiguous)
            throw new InvalidOperationException($"gradient_reversal accumulation: {g.Describe()} cannot be accumulated into {acc.Describe()} (both must be dense, of one shape, dtype and device).");
        if (!acc.Device.IsCpu)
        {
            Ops.DeviceOps.For(acc).GradReverseAccumulate(acc, g, lambda, accumulate);
            return;
        }
        if (acc.DType == DType.Float32) ReverseAccumulateCpu(acc, g, (float)-lambda, accumulate);
        else ReverseAccumulateCpu(acc, g, -lambda, accumulate);
    }

    private static void ReverseAccumulateCpu<T>(Tensor acc, Tensor g, T scale, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dst = acc.HostArray<T>();
        var src = g.HostArray<T>();
        int dstOffset = acc.Offset, srcOffset = g.Offset;
        Cpu.Parallelism.For(0, acc.Numel, MinParallelChunk, (dst, dstOffset, src, srcOffset, scale, accumulate),
            static (in (T[] Dst, int DstOffset, T[] Src, int SrcOffset, T Scale, bool Accumulate) a, int lo, int hi) =>
                ScaleAdd(a.Dst.AsSpan(a.DstOffset + lo, hi - lo), a.Src.AsSpan(a.SrcOffset + lo, hi - lo), a.Scale, a.Accumulate));
    }

    // dst = (accumulate ? dst : 0) + scale·src with one rounding per element (FMA) when accumulating. dst and src may be the same span.
    // Instantiated for float and double only; the JIT specialises each, so the type tests in FusedMultiplyAdd fold away.
    private static void ScaleAdd<T>(Span<T> dst, ReadOnlySpan<T> src, T scale, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T d = ref MemoryMarshal.GetReference(dst);
        ref T s = ref MemoryMarshal.GetReference(src);
        var vs = Vector256.Create(scale);
        int i = 0, w = Vector256<T>.Count, n = dst.Length;
        if (accumulate)
        {
            for (; i <= n - w; i += w)
                FusedMultiplyAdd(Vector256.LoadUnsafe(ref s, (nuint)i), vs, Vector256.LoadUnsafe(ref d, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            for (; i < n; i++) Unsafe.Add(ref d, i) = T.FusedMultiplyAdd(Unsafe.Add(ref s, i), scale, Unsafe.Add(ref d, i));
        }
        else
        {
            for (; i <= n - w; i += w) (Vector256.LoadUnsafe(ref s, (nuint)i) * vs).StoreUnsafe(ref d, (nuint)i);
            for (; i < n; i++) Unsafe.Add(ref d, i) = Unsafe.Add(ref s, i) * scale;
        }
    }

    // Vector256.FusedMultiplyAdd has float and double overloads but no generic one.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> FusedMultiplyAdd<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            return Vector256.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector256.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        throw new NotSupportedException($"gradient_reversal accumulation: dtype {typeof(T).Name} is not supported (expected float32 or float64).");
    }

    /// <summary>
    /// Runs <paramref name="node"/>'s backward as an in-place accumulation when it can and the destination is exclusively the
    /// backward's; returns false (nothing done) otherwise, and the caller runs <see cref="Node.Backward"/>. The destination is the
    /// input's pending gradient (accumulated into), else the incoming gradient <paramref name="g"/> itself (transformed in place and
    /// handed on as the input's pending gradient), else for a leaf its persistent <see cref="Tensor.Grad"/>. Never under create-graph
    /// (the result must stay differentiable), and a leaf's gradient is only touched by <see cref="Tensor.Backward"/> (not by Grad()).
    /// </summary>
    public static bool TryAccumulateInPlace(Node node, Tensor g, Dictionary<Node, Tensor> pending, Tensor[] seeds, Tensor?[]? results, bool leavesGetGrad)
    {
        if (FusionDisabled || !node.AccumulatesInPlace || node.Inputs.Length != 1 || node.Inputs[0] is not { } input) return false;
        if (!g.IsContiguous || g.DType != input.DType || !ShapeUtil.Same(g.Shape, input.Shape)) return false;
        if (input.GradFn is { } producer)
        {
            if (pending.TryGetValue(producer, out var acc))
            {
                if (!OwnedByBackward(acc, producer, g, pending, seeds, results)) return false;
                node.AccumulateInputGradient(g, acc, accumulate: true);
            }
            else
            {
                if (!OwnedByBackward(g, null, null, pending, seeds, results)) return false;
                node.AccumulateInputGradient(g, g, accumulate: false);
                pending[producer] = g;
            }
        }
        else
        {
            if (!leavesGetGrad) return false;
            var grad = input.Grad;
            if (grad == null || grad.IsReleased)
            {
                // What the unfused path would store (a persistent copy, as AccumulateLeaf makes), written once instead of
                // computed and then copied.
                grad = Tensor.NewPersistent(input.Shape, input.DType, input.Device, clear: false);
                node.AccumulateInputGradient(g, grad, accumulate: false);
                input.Grad = grad;
            }
            else
            {
                // A .Grad built under create-graph belongs to that graph; leave it to the differentiable path.
                if (grad.InArena || !grad.IsContiguous || grad.DType != g.DType || !ShapeUtil.Same(grad.Shape, g.Shape)) return false;
                node.AccumulateInputGradient(g, grad, accumulate: true);
            }
        }
        FusedCount++;
        return true;
    }

    // True when nothing but the backward can see t, so writing into it changes no value anyone else reads: a step temporary nobody
    // retained, with its storage to itself (no view), dense, and not also a seed, a result of Grad(), the gradient in hand, or the
    // pending gradient of another node (a backward may hand one tensor to several inputs).
    private static bool OwnedByBackward(Tensor t, Node? owner, Tensor? inHand, Dictionary<Node, Tensor> pending, Tensor[] seeds, Tensor?[]? results)
    {
        if (!t.InArena || t.IsRetained || t.IsReleased || !t.IsContiguous || t.Storage.IsShared || ReferenceEquals(t, inHand)) return false;
        foreach (var s in seeds) if (ReferenceEquals(s, t)) return false;
        if (results != null) foreach (var r in results) if (ReferenceEquals(r, t)) return false;
        foreach (var (n, p) in pending) if (ReferenceEquals(p, t) && !ReferenceEquals(n, owner)) return false;
        return true;
    }
}
