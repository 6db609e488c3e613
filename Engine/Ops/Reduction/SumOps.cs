using System.Numerics;
using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Sum of every element (a 0-d tensor).</summary>
    public static Tensor Sum(Tensor x) => Reshape(Sum(x, Enumerable.Range(0, x.Rank).ToArray(), keepDim: false), []);

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
        var reduce = new bool[x.Rank];
        foreach (var d in dims) reduce[ShapeUtil.Dim("sum", d, x.Rank)] = true;
        var keptShape = new int[x.Rank];
        for (int i = 0; i < x.Rank; i++) keptShape[i] = reduce[i] ? 1 : x.Shape[i];
        var outShape = keepDim ? keptShape : keptShape.Where((_, i) => !reduce[i]).ToArray();
        var y = Tensor.NewOutput(outShape, x.DType, x.Device);
        var src = Dense(x);
        if (!x.Device.IsCpu) DeviceOps.For(x).SumTo(src, y, keptShape);
        else if (x.DType == DType.Float32) SumKernel(src.Span<float>(), x.Shape, reduce, y.Span<float>());
        else SumKernel(src.Span<double>(), x.Shape, reduce, y.Span<double>());
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new SumBackward(x, keptShape));
        return y;
    }

    private static void SumKernel<T>(ReadOnlySpan<T> x, int[] shape, bool[] reduce, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = shape.Length;
        if (rank == 0) { y[0] = x[0]; return; }
        // Output strides over the input's index space: 0 on reduced dimensions.
        var outStride = new int[rank];
        int acc = 1;
        for (int i = rank - 1; i >= 0; i--) { outStride[i] = reduce[i] ? 0 : acc; if (!reduce[i]) acc *= shape[i]; }
        var partial = new double[y.Length];
        int inner = shape[rank - 1];
        bool innerReduced = reduce[rank - 1];
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
