using System.Numerics;
using System.Runtime.Intrinsics;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Euclidean norm along <paramref name="dim"/>: √Σ x². The gradient at a zero vector is 0 (as PyTorch's norm).</summary>
    public static Tensor Norm(Tensor x, int dim, bool keepDim = false)
    {
        CheckFloat("norm", x);
        if (x.Rank == 0) throw new ArgumentException($"norm: needs at least one dimension, got a 0-d tensor {x.Describe()}.");
        int d = ShapeUtil.Dim("norm", dim, x.Rank);
        var shape = new List<int>(x.Shape);
        if (keepDim) shape[d] = 1; else shape.RemoveAt(d);
        var (outer, size, inner) = AlongDim(x.Shape, d);
        var y = Tensor.NewOutput(shape.ToArray(), x.DType, x.Device);
        var src = Dense(x);
        if (!x.Device.IsCpu) DeviceOps.For(x).Norm(src, y, outer, size, inner);
        else if (x.DType == DType.Float32) NormKernel.Run<float>(src, y, outer, size, inner);
        else NormKernel.Run<double>(src, y, outer, size, inner);
        ReleaseTemporary(src, x);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new NormBackward(x, y, d));
        return y;
    }

    private sealed class NormBackward(Tensor x, Tensor norm, int dim) : Node("norm", x)
    {
        private Tensor? _x = x, _norm = norm;

        public override Tensor?[] Backward(Tensor g)
        {
            var kept = (int[])_x!.Shape.Clone();
            kept[dim] = 1;
            var norm = Reshape(_norm!, kept);
            // dx = x·g/‖x‖. Where ‖x‖ = 0 the vector x is zero, so dividing by 1 there instead gives the 0 PyTorch returns
            // (rather than 0/0); the added mask is constant, so the saved norm still carries x into a create-graph pass.
            var safe = Add(norm, Affine(NotEqual(norm, 0), -1, 1));
            return [Mul(_x!, Div(Reshape(g, kept), safe))];
        }

        protected override void ReleaseSaved() { _x = null; _norm = null; }
    }

    /// <summary>x / max(‖x‖₂ along dim, eps) (PyTorch's F.normalize).</summary>
    public static Tensor L2Normalize(Tensor x, int dim = 1, double eps = 1e-12)
    {
        CheckFloat("l2_normalize", x);
        if (!(eps >= 0)) throw new ArgumentException($"l2_normalize: eps must be non-negative, got {eps} (input {x.Describe()}).");
        // Composed exactly as F.normalize (norm, clamp_min, divide), so first and second derivatives follow from those ops.
        return Div(x, Clamp(Norm(x, dim, keepDim: true), eps, null));
    }
}

/// <summary>√Σ x² over the middle axis of [outer, size, inner], accumulating a block of inner positions at a time.</summary>
internal static class NormKernel
{
    private const int Block = AxisBlocks.Block;

    public static void Run<T>(Tensor x, Tensor y, int outer, int size, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Numel == 0) return;
        T[] xs = x.HostArray<T>(), ys = y.HostArray<T>();
        int xo = x.Offset, yo = y.Offset, blocks = AxisBlocks.PerOuter(inner), items = outer * blocks;
        int minChunk = AxisBlocks.MinChunk(size, inner);
        if (items <= minChunk) Items(xs, xo, ys, yo, size, inner, blocks, 0, items);
        else Parallelism.For(0, items, minChunk, (xs, xo, ys, yo, size, inner, blocks),
            static (in (T[] Xs, int Xo, T[] Ys, int Yo, int Size, int Inner, int Blocks) a, int s, int e) =>
                Items(a.Xs, a.Xo, a.Ys, a.Yo, a.Size, a.Inner, a.Blocks, s, e));
    }

    private static void Items<T>(T[] xs, int xo, T[] ys, int yo, int size, int inner, int blocks, int first, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> acc = stackalloc T[Block];
        int w = Vector256<T>.Count;
        for (int item = first; item < end; item++)
        {
            int o = item / blocks, i0 = item % blocks * Block, len = Math.Min(Block, inner - i0);
            int baseIndex = o * size * inner + i0;
            var a = acc[..len];
            a.Clear();
            for (int c = 0; c < size; c++)
            {
                var row = xs.AsSpan(xo + baseIndex + c * inner, len);
                int i = 0;
                for (; i <= len - w; i += w)
                {
                    var v = Vector256.Create(row.Slice(i, w));
                    (Vector256.Create(a.Slice(i, w)) + v * v).CopyTo(a.Slice(i, w));
                }
                for (; i < len; i++) a[i] += row[i] * row[i];
            }
            var dst = ys.AsSpan(yo + o * inner + i0, len);
            for (int i = 0; i < len; i++) dst[i] = T.Sqrt(a[i]);
        }
    }
}
