using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>A tensor with the same elements in a new shape (a view when contiguous, else a copy). One dimension may be -1.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        shape = (int[])shape.Clone();
        int infer = Array.IndexOf(shape, -1);
        if (infer >= 0)
        {
            int known = 1;
            for (int i = 0; i < shape.Length; i++) if (i != infer) known *= shape[i];
            shape[infer] = known == 0 ? 0 : x.Numel / known;
        }
        if (ShapeUtil.Numel(shape) != x.Numel)
            throw new ArgumentException($"reshape: cannot view {x.Describe()} ({x.Numel} elements) as {ShapeUtil.Format(shape)}.");
        var src = x.IsContiguous ? x : x.ContiguousCopy();
        var y = src.View(shape, ShapeUtil.ContiguousStrides(shape), src.Offset);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new ReshapeBackward(x));
        return y;
    }

    private sealed class ReshapeBackward(Tensor x) : Node("reshape", x)
    {
        private readonly int[] _shape = x.Shape;
        public override Tensor?[] Backward(Tensor g) => [Reshape(g, _shape)];
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/>.</summary>
    public static Tensor Unsqueeze(Tensor x, int dim)
    {
        int d = dim < 0 ? dim + x.Rank + 1 : dim;
        var shape = x.Shape.ToList();
        shape.Insert(d, 1);
        return Reshape(x, shape.ToArray());
    }

    /// <summary>Flattens every dimension from <paramref name="startDim"/> on into one.</summary>
    public static Tensor Flatten(Tensor x, int startDim = 1)
    {
        var shape = x.Shape.Take(startDim).Append(-1).ToArray();
        return Reshape(x, shape);
    }

    /// <summary>Reorders dimensions (a strided view).</summary>
    public static Tensor Permute(Tensor x, params int[] dims)
    {
        if (dims.Length != x.Rank || dims.OrderBy(d => d).Where((d, i) => d != i).Any())
            throw new ArgumentException($"permute: [{string.Join(',', dims)}] is not a permutation of the {x.Rank} dimensions of {x.Describe()}.");
        var shape = new int[x.Rank];
        var strides = new int[x.Rank];
        for (int i = 0; i < dims.Length; i++) { shape[i] = x.Shape[dims[i]]; strides[i] = x.Strides[dims[i]]; }
        var y = x.View(shape, strides, x.Offset);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new PermuteBackward(x, dims));
        return y;
    }

    private sealed class PermuteBackward(Tensor x, int[] dims) : Node("permute", x)
    {
        public override Tensor?[] Backward(Tensor g)
        {
            var inverse = new int[dims.Length];
            for (int i = 0; i < dims.Length; i++) inverse[dims[i]] = i;
            return [Permute(g, inverse)];
        }
    }

    /// <summary>The slice [<paramref name="start"/>, start+<paramref name="length"/>) along <paramref name="dim"/> (a strided view).</summary>
    public static Tensor Narrow(Tensor x, int dim, int start, int length)
    {
        int d = ShapeUtil.Dim("narrow", dim, x.Rank);
        if (start < 0 || length < 0 || start + length > x.Shape[d])
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow: [{start}, {start + length}) is outside dimension {d} of {x.Describe()}.");
        var shape = (int[])x.Shape.Clone();
        shape[d] = length;
        var y = x.View(shape, (int[])x.Strides.Clone(), x.Offset + start * x.Strides[d]);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new NarrowBackward(x, d, start));
        return y;
    }

    private sealed class NarrowBackward(Tensor x, int dim, int start) : Node("narrow", x)
    {
        private readonly int[] _shape = x.Shape;
        public override Tensor?[] Backward(Tensor g) => [PadAlong(g, dim, start, _shape[dim] - start - g.Shape[dim])];
    }

    /// <summary>Zero-pads <paramref name="x"/> along <paramref name="dim"/> with <paramref name="before"/> and <paramref name="after"/> entries.</summary>
    public static Tensor PadAlong(Tensor x, int dim, int before, int after)
    {
        var parts = new List<Tensor>(3);
        if (before > 0) { var s = (int[])x.Shape.Clone(); s[dim] = before; parts.Add(ZerosLike(s, x)); }
        parts.Add(x);
        if (after > 0) { var s = (int[])x.Shape.Clone(); s[dim] = after; parts.Add(ZerosLike(s, x)); }
        return parts.Count == 1 ? x : Cat(parts, dim);
    }

    /// <summary>A dense row-major tensor with the same values (itself when already contiguous).</summary>
    public static Tensor Contiguous(Tensor x)
    {
        if (x.IsContiguous) return x;
        var y = x.ContiguousCopy();
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new IdentityBackward("contiguous", x));
        return y;
    }

    /// <summary>Passes the gradient through unchanged.</summary>
    private sealed class IdentityBackward(string op, Tensor x) : Node(op, x)
    {
        public override Tensor?[] Backward(Tensor g) => [g];
    }
}
