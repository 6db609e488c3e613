using System.Numerics;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Max values along <paramref name="dim"/>. The gradient goes to the first maximal element (as PyTorch on the CPU);
    /// NaN counts as the maximum.</summary>
    public static Tensor Max(Tensor x, int dim, bool keepDim = false)
    {
        CheckFloat("max", x);
        var (values, indices, d) = MaxForward("max", x, dim, keepDim, wantValues: true);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(values!, new MaxBackward(x, indices, d));
        else indices.Dispose();
        return values!;
    }

    private sealed class MaxBackward(Tensor x, Tensor indices, int dim) : Node("max", x)
    {
        private Tensor? _indices = indices;
        private readonly int[] _shape = x.Shape;
        private readonly DType _dtype = x.DType;
        private readonly Device _device = x.Device;

        public override Tensor?[] Backward(Tensor g)
        {
            var kept = (int[])_shape.Clone();
            kept[dim] = 1;
            // The one-hot of the winners is constant, so the gradient is linear in g and differentiable again.
            var winners = OneHotAlong(_indices!, _shape, dim, _dtype, _device);
            return [Mul(Reshape(g, kept), winners)];
        }

        protected override void ReleaseSaved() => _indices = null;
    }

    /// <summary>Index of the max along <paramref name="dim"/> (Int64, no gradient).</summary>
    public static Tensor ArgMax(Tensor x, int dim, bool keepDim = false)
    {
        CheckFloat("argmax", x);
        return MaxForward("argmax", x, dim, keepDim, wantValues: false).Indices;
    }

    private static (Tensor? Values, Tensor Indices, int Dim) MaxForward(string op, Tensor x, int dim, bool keepDim, bool wantValues)
    {
        if (x.Rank == 0) throw new ArgumentException($"{op}: needs at least one dimension, got a 0-d tensor {x.Describe()}.");
        int d = ShapeUtil.Dim(op, dim, x.Rank);
        if (x.Shape[d] == 0) throw new ArgumentException($"{op}: dimension {d} of {x.Describe()} is empty; a maximum needs at least one element.");
        var shape = new List<int>(x.Shape);
        if (keepDim) shape[d] = 1; else shape.RemoveAt(d);
        var outShape = shape.ToArray();
        var (outer, size, inner) = AlongDim(x.Shape, d);
        var values = wantValues ? Tensor.NewOutput(outShape, x.DType, x.Device) : null;
        var indices = Tensor.NewOutput((int[])outShape.Clone(), DType.Int64, x.Device);
        var src = Dense(x);
        if (!x.Device.IsCpu) DeviceOps.For(x).MaxAlong(src, values, indices, outer, size, inner);
        else if (x.DType == DType.Float32) MaxKernel.Run<float>(src, values, indices, outer, size, inner);
        else MaxKernel.Run<double>(src, values, indices, outer, size, inner);
        ReleaseTemporary(src, x);
        return (values, indices, d);
    }

    /// <summary>A dense tensor of <paramref name="shape"/> that is 1 where the index along <paramref name="dim"/> equals
    /// <paramref name="indices"/> (shaped like <paramref name="shape"/> with that dimension dropped or kept as 1), else 0.</summary>
    internal static Tensor OneHotAlong(Tensor indices, int[] shape, int dim, DType dtype, Device device)
    {
        var (outer, size, inner) = AlongDim(shape, dim);
        var y = Tensor.NewOutput((int[])shape.Clone(), dtype, device, clear: device.IsCpu);
        var idx = Dense(indices);
        if (!device.IsCpu) DeviceOps.For(y).OneHotAlong(idx, y, outer, size, inner);
        else if (dtype == DType.Float32) MaxKernel.OneHot<float>(idx, y, size, inner);
        else MaxKernel.OneHot<double>(idx, y, size, inner);
        ReleaseTemporary(idx, indices);
        return y;
    }
}

/// <summary>Max and argmax over the middle axis of [outer, size, inner], reading the reduced axis as contiguous rows of a block
/// of inner positions.</summary>
internal static class MaxKernel
{
    private const int Block = AxisBlocks.Block;

    public static void Run<T>(Tensor x, Tensor? values, Tensor indices, int outer, int size, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (indices.Numel == 0) return;
        T[] xs = x.HostArray<T>();
        T[]? vs = values?.HostArray<T>();
        long[] ids = indices.HostArray<long>();
        int xo = x.Offset, blocks = AxisBlocks.PerOuter(inner), items = outer * blocks;
        int minChunk = AxisBlocks.MinChunk(size, inner);
        if (items <= minChunk) Items(xs, xo, vs, ids, size, inner, blocks, 0, items);
        else Parallelism.For(0, items, minChunk, (xs, xo, vs, ids, size, inner, blocks),
            static (in (T[] Xs, int Xo, T[]? Vs, long[] Ids, int Size, int Inner, int Blocks) a, int s, int e) =>
                Items(a.Xs, a.Xo, a.Vs, a.Ids, a.Size, a.Inner, a.Blocks, s, e));
    }

    private static void Items<T>(T[] xs, int xo, T[]? vs, long[] ids, int size, int inner, int blocks, int first, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> best = stackalloc T[Block];
        Span<int> arg = stackalloc int[Block];
        for (int item = first; item < end; item++)
        {
            int o = item / blocks, i0 = item % blocks * Block, len = Math.Min(Block, inner - i0);
            int baseIndex = o * size * inner + i0;
            xs.AsSpan(xo + baseIndex, len).CopyTo(best);
            arg[..len].Clear();
            for (int c = 1; c < size; c++)
            {
                var row = xs.AsSpan(xo + baseIndex + c * inner, len);
                for (int i = 0; i < len; i++)
                {
                    T v = row[i];
                    // Strictly greater keeps the first maximum; a NaN wins once and then stays.
                    if (v > best[i] || (T.IsNaN(v) && !T.IsNaN(best[i]))) { best[i] = v; arg[i] = c; }
                }
            }
            int outAt = o * inner + i0;
            if (vs != null) best[..len].CopyTo(vs.AsSpan(outAt, len));
            for (int i = 0; i < len; i++) ids[outAt + i] = arg[i];
        }
    }

    /// <summary>Writes 1 at each index into zero-filled dense <paramref name="y"/> viewed as [outer, size, inner].</summary>
    public static void OneHot<T>(Tensor indices, Tensor y, int size, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var ids = indices.Span<long>();
        var ys = y.Span<T>();
        for (int p = 0; p < ids.Length; p++)
        {
            long c = ids[p];
            if ((ulong)c >= (ulong)size) throw new ArgumentException($"one_hot: index {c} at flat position {p} is outside [0, {size}).");
            int o = p / inner, i = p % inner;
            ys[(o * size + (int)c) * inner + i] = T.One;
        }
    }
}
