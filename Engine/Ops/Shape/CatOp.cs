using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Concatenates tensors along <paramref name="dim"/> (MTAN concatenates along channels, dim 1: shared first).</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> xs, int dim)
    {
        if (xs.Count == 0) throw new ArgumentException("cat: needs at least one tensor.");
        var first = xs[0];
        int d = ShapeUtil.Dim("cat", dim, first.Rank);
        var shape = (int[])first.Shape.Clone();
        shape[d] = 0;
        // Indexed loops: foreach over the interface would allocate an enumerator per call.
        for (int k = 0; k < xs.Count; k++)
        {
            var x = xs[k];
            CheckPair("cat", first, x);
            bool ok = x.Rank == first.Rank;
            for (int i = 0; ok && i < x.Rank; i++) ok = i == d || x.Shape[i] == first.Shape[i];
            if (!ok) throw new ArgumentException($"cat along {d}: shapes must match except in that dimension; got {first.Describe()} and {x.Describe()}.");
            shape[d] += x.Shape[d];
        }
        var y = Tensor.NewOutput(shape, first.DType, first.Device);
        int outer = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        int innerOut = y.Numel / Math.Max(outer, 1);
        int offset = 0;
        for (int k = 0; k < xs.Count; k++)
        {
            var x = xs[k];
            int innerX = x.Numel / Math.Max(outer, 1);
            var src = Dense(x);
            if (!first.Device.IsCpu) DeviceOps.For(first).CopyBlocks(src, 0, innerX, y, offset, innerOut, innerX, outer);
            else CopyBlocks(src, y, outer, innerX, offset, innerOut);
            offset += innerX;
        }
        if (Autograd.Autograd.IsRecording(xs)) Autograd.Autograd.Record(y, new CatBackward(xs, d));
        return y;
    }

    private static void CopyBlocks(Tensor src, Tensor dst, int outer, int inner, int dstOffset, int dstInner)
    {
        switch (src.DType)
        {
            case DType.Float32: Blocks(src.Span<float>(), dst.Span<float>()); break;
            case DType.Float64: Blocks(src.Span<double>(), dst.Span<double>()); break;
            default: Blocks(src.Span<long>(), dst.Span<long>()); break;
        }

        void Blocks<T>(Span<T> s, Span<T> o) where T : unmanaged
        {
            for (int b = 0; b < outer; b++) s.Slice(b * inner, inner).CopyTo(o.Slice(b * dstInner + dstOffset, inner));
        }
    }

    private sealed class CatBackward(IReadOnlyList<Tensor> xs, int dim) : Node("cat", Copy(xs))
    {
        private readonly int[] _sizes = Sizes(xs, dim);

        private static Tensor?[] Copy(IReadOnlyList<Tensor> xs)
        {
            var inputs = new Tensor?[xs.Count];
            for (int i = 0; i < inputs.Length; i++) inputs[i] = xs[i];
            return inputs;
        }

        private static int[] Sizes(IReadOnlyList<Tensor> xs, int dim)
        {
            var sizes = new int[xs.Count];
            for (int i = 0; i < sizes.Length; i++) sizes[i] = xs[i].Shape[dim];
            return sizes;
        }

        public override Tensor?[] Backward(Tensor g)
        {
            var grads = new Tensor?[_sizes.Length];
            int start = 0;
            for (int i = 0; i < _sizes.Length; i++)
            {
                if (NeedsGrad(i)) grads[i] = Contiguous(Narrow(g, dim, start, _sizes[i]));
                start += _sizes[i];
            }
            return grads;
        }
    }
}
