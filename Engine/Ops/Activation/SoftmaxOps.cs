using System.Numerics;
using System.Runtime.Intrinsics;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Softmax along <paramref name="dim"/>.</summary>
    public static Tensor Softmax(Tensor x, int dim)
    {
        var (y, d) = SoftmaxForward("softmax", x, dim, log: false);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new SoftmaxBackward(x, y, d));
        return y;
    }

    private sealed class SoftmaxBackward(Tensor x, Tensor y, int dim) : Node("softmax", x)
    {
        private Tensor? _y = y;

        // dx = y·(g − Σ_dim g·y), written with the saved output so a create-graph pass reaches x through it.
        public override Tensor?[] Backward(Tensor g) => [Mul(_y!, Sub(g, Sum(Mul(g, _y!), [dim], keepDim: true)))];

        protected override void ReleaseSaved() => _y = null;
    }

    /// <summary>Log-softmax along <paramref name="dim"/>.</summary>
    public static Tensor LogSoftmax(Tensor x, int dim)
    {
        var (y, d) = SoftmaxForward("log_softmax", x, dim, log: true);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new LogSoftmaxBackward(x, y, d));
        return y;
    }

    private sealed class LogSoftmaxBackward(Tensor x, Tensor y, int dim) : Node("log_softmax", x)
    {
        private Tensor? _y = y;

        // dx = g − exp(y)·Σ_dim g.
        public override Tensor?[] Backward(Tensor g) => [Sub(g, Mul(Exp(_y!), Sum(g, [dim], keepDim: true)))];

        protected override void ReleaseSaved() => _y = null;
    }

    private static (Tensor Y, int Dim) SoftmaxForward(string op, Tensor x, int dim, bool log)
    {
        CheckFloat(op, x);
        if (x.Rank == 0) throw new ArgumentException($"{op}: needs at least one dimension, got a 0-d tensor {x.Describe()}.");
        int d = ShapeUtil.Dim(op, dim, x.Rank);
        var (outer, size, inner) = AlongDim(x.Shape, d);
        var y = Tensor.NewOutputLike(x);
        var src = Dense(x);
        if (!x.Device.IsCpu) DeviceOps.For(x).Softmax(src, y, outer, size, inner, log);
        else if (x.DType == DType.Float32) SoftmaxKernel.Run<float>(src, y, outer, size, inner, log);
        else SoftmaxKernel.Run<double>(src, y, outer, size, inner, log);
        ReleaseTemporary(src, x);
        return (y, d);
    }

    /// <summary>Views a dense shape as [outer, size, inner] around dimension <paramref name="dim"/> (NCHW with dim 1: B, C, H·W).</summary>
    internal static (int Outer, int Size, int Inner) AlongDim(int[] shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= shape[i];
        for (int i = dim + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, shape[dim], inner);
    }
}

/// <summary>
/// Softmax over the middle axis of [outer, size, inner]. Each work item is one outer index and a block of up to 256 inner
/// positions, so the loops over the reduced axis read contiguous rows of the block and vectorise across positions.
/// </summary>
internal static class SoftmaxKernel
{
    private const int Block = AxisBlocks.Block;

    public static void Run<T>(Tensor x, Tensor y, int outer, int size, int inner, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (y.Numel == 0) return;
        T[] xs = x.HostArray<T>(), ys = y.HostArray<T>();
        int xo = x.Offset, blocks = AxisBlocks.PerOuter(inner), items = outer * blocks;
        int minChunk = AxisBlocks.MinChunk(size, inner);
        if (items <= minChunk) Items(xs, xo, ys, size, inner, blocks, log, 0, items);
        else Parallelism.For(0, items, minChunk, (xs, xo, ys, size, inner, blocks, log),
            static (in (T[] Xs, int Xo, T[] Ys, int Size, int Inner, int Blocks, bool Log) a, int s, int e) =>
                Items(a.Xs, a.Xo, a.Ys, a.Size, a.Inner, a.Blocks, a.Log, s, e));
    }

    private static void Items<T>(T[] xs, int xo, T[] ys, int size, int inner, int blocks, bool log, int first, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> max = stackalloc T[Block];
        Span<T> sum = stackalloc T[Block];
        for (int item = first; item < end; item++)
        {
            int o = item / blocks, i0 = item % blocks * Block, len = Math.Min(Block, inner - i0);
            int baseIndex = o * size * inner + i0;
            var m = max[..len];
            var s = sum[..len];
            xs.AsSpan(xo + baseIndex, len).CopyTo(m);
            for (int c = 1; c < size; c++) MaxInto(m, xs.AsSpan(xo + baseIndex + c * inner, len));
            s.Clear();
            for (int c = 0; c < size; c++)
            {
                int at = baseIndex + c * inner;
                ExpAccumulate(xs.AsSpan(xo + at, len), m, s, log ? Span<T>.Empty : ys.AsSpan(at, len));
            }
            if (log)
            {
                // log_softmax = x − (max + log Σ exp(x − max)).
                for (int i = 0; i < len; i++) m[i] += T.Log(s[i]);
                for (int c = 0; c < size; c++)
                {
                    int at = baseIndex + c * inner;
                    SubInto(xs.AsSpan(xo + at, len), m, ys.AsSpan(at, len));
                }
            }
            else
            {
                for (int i = 0; i < len; i++) s[i] = T.One / s[i];
                for (int c = 0; c < size; c++) MulInPlace(ys.AsSpan(baseIndex + c * inner, len), s);
            }
        }
    }

    private static void MaxInto<T>(Span<T> acc, ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector256<T>.Count;
        for (; i <= acc.Length - w; i += w) Vector256.Max(Vector256.Create(acc.Slice(i, w)), Vector256.Create(row.Slice(i, w))).CopyTo(acc.Slice(i, w));
        for (; i < acc.Length; i++) acc[i] = T.Max(acc[i], row[i]);
    }

    /// <summary>sum += exp(row − max), also storing the exponentials into <paramref name="exps"/> unless it is empty.</summary>
    private static void ExpAccumulate<T>(ReadOnlySpan<T> row, ReadOnlySpan<T> max, Span<T> sum, Span<T> exps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector256<T>.Count;
        bool store = !exps.IsEmpty;
        for (; i <= row.Length - w; i += w)
        {
            var e = VectorFunctions.Exp(Vector256.Create(row.Slice(i, w)) - Vector256.Create(max.Slice(i, w)));
            (Vector256.Create(sum.Slice(i, w)) + e).CopyTo(sum.Slice(i, w));
            if (store) e.CopyTo(exps.Slice(i, w));
        }
        for (; i < row.Length; i++)
        {
            var e = T.Exp(row[i] - max[i]);
            sum[i] += e;
            if (store) exps[i] = e;
        }
    }

    private static void SubInto<T>(ReadOnlySpan<T> row, ReadOnlySpan<T> shift, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector256<T>.Count;
        for (; i <= row.Length - w; i += w) (Vector256.Create(row.Slice(i, w)) - Vector256.Create(shift.Slice(i, w))).CopyTo(y.Slice(i, w));
        for (; i < row.Length; i++) y[i] = row[i] - shift[i];
    }

    private static void MulInPlace<T>(Span<T> y, ReadOnlySpan<T> scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector256<T>.Count;
        for (; i <= y.Length - w; i += w) (Vector256.Create(y.Slice(i, w)) * Vector256.Create(scale.Slice(i, w))).CopyTo(y.Slice(i, w));
        for (; i < y.Length; i++) y[i] *= scale[i];
    }
}
