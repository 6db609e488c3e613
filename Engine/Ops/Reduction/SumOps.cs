using System.Numerics;
using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Sum of every element (a 0-d tensor).</summary>
    public static Tensor Sum(Tensor x) => Reshape(Sum(x, AllDims(x.Rank), keepDim: false), []);

    // [0, 1, …, rank-1], shared per rank (Sum only reads it), so a full reduction allocates no index array.
    private static readonly int[][] AllDimsByRank = [.. Enumerable.Range(0, 9).Select(r => Enumerable.Range(0, r).ToArray())];

    private static int[] AllDims(int rank) => rank < AllDimsByRank.Length ? AllDimsByRank[rank] : [.. Enumerable.Range(0, rank)];

    /// <summary>Mean of every element (a 0-d tensor).</summary>
    public static Tensor Mean(Tensor x) => Div(Sum(x), Math.Max(x.Numel, 1));

    /// <summary>Mean along <paramref name="dims"/>.</summary>
    public static Tensor Mean(Tensor x, int[] dims, bool keepDim = false)
    {
        int count = 1;
        foreach (var d in dims) count *= x.Shape[ShapeUtil.Dim("mean", d, x.Rank)];
        return Div(Sum(x, dims, keepDim), Math.Max(count, 1));
    }

    /// <summary>Sum along <paramref name="dims"/>; kept as size-1 dimensions when <paramref name="keepDim"/>.
    /// Float32 sums accumulate in float64.</summary>
    public static Tensor Sum(Tensor x, int[] dims, bool keepDim = false)
    {
        CheckFloat("sum", x);
        Span<bool> reduce = stackalloc bool[x.Rank];
        foreach (var d in dims) reduce[ShapeUtil.Dim("sum", d, x.Rank)] = true;
        var keptShape = new int[x.Rank];
        int outRank = 0;
        for (int i = 0; i < x.Rank; i++)
        {
            keptShape[i] = reduce[i] ? 1 : x.Shape[i];
            if (!reduce[i]) outRank++;
        }
        int[] outShape = keepDim ? keptShape : new int[outRank];
        if (!keepDim)
            for (int i = 0, j = 0; i < x.Rank; i++) if (!reduce[i]) outShape[j++] = x.Shape[i];
        var y = Tensor.NewOutput(outShape, x.DType, x.Device);
        var src = Dense(x);
        if (!x.Device.IsCpu) DeviceOps.For(x).SumTo(src, y, keptShape);
        else if (x.DType == DType.Float32) SumKernel(src.Span<float>(), x.Shape, reduce, y.Span<float>());
        else SumKernel(src.Span<double>(), x.Shape, reduce, y.Span<double>());
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new SumBackward(x, keptShape));
        return y;
    }

    private static void SumKernel<T>(ReadOnlySpan<T> x, int[] shape, ReadOnlySpan<bool> reduce, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = shape.Length;
        if (rank == 0) { y[0] = x[0]; return; }
        // Output strides over the input's index space: 0 on reduced dimensions.
        Span<int> outStride = stackalloc int[rank];
        int acc = 1;
        for (int i = rank - 1; i >= 0; i--) { outStride[i] = reduce[i] ? 0 : acc; if (!reduce[i]) acc *= shape[i]; }
        // The float64 accumulators are as long as the output (a whole image for a channel sum): rented, not allocated, so a
        // training step does not put large-object-heap arrays on the GC every step.
        var rented = System.Buffers.ArrayPool<double>.Shared.Rent(y.Length);
        try { SumInto(x, shape, outStride, reduce[rank - 1], rented.AsSpan(0, y.Length), y); }
        finally { System.Buffers.ArrayPool<double>.Shared.Return(rented); }
    }

    private static void SumInto<T>(ReadOnlySpan<T> x, int[] shape, ReadOnlySpan<int> outStride, bool innerReduced, Span<double> partial, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = shape.Length;
        partial.Clear();
        int inner = shape[rank - 1];
        Span<int> idx = stackalloc int[rank];
        int pos = 0;
        for (int start = 0; start < x.Length; start += inner)
        {
            var row = x.Slice(start, inner);
            if (innerReduced) partial[pos] += Cpu.VectorMath.Sum(row);
            else for (int i = 0; i < inner; i++) partial[pos + i] += double.CreateTruncating(row[i]);
            for (int d = rank - 2; d >= 0; d--)
            {
                idx[d]++; pos += outStride[d];
                if (idx[d] < shape[d]) break;
                pos -= outStride[d] * shape[d]; idx[d] = 0;
            }
        }
        for (int i = 0; i < y.Length; i++) y[i] = T.CreateTruncating(partial[i]);
    }

    private sealed class SumBackward(Tensor x, int[] keptShape) : Node("sum", x)
    {
        private readonly int[] _shape = x.Shape;
        public override Tensor?[] Backward(Tensor g) => [BroadcastTo(Reshape(g, keptShape), _shape)];
    }
}
