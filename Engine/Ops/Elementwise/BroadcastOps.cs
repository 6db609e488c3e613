using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Sums <paramref name="x"/> down to <paramref name="shape"/>, undoing a broadcast: the one place where broadcast
    /// gradients are reduced. Returns <paramref name="x"/> itself when the shapes already agree.</summary>
    public static Tensor SumTo(Tensor x, int[] shape)
    {
        if (ShapeUtil.Same(x.Shape, shape)) return x;
        int lead = x.Rank - shape.Length;
        if (lead < 0) throw new ArgumentException($"sum_to: cannot reduce {x.Describe()} to the larger shape {ShapeUtil.Format(shape)}.");
        var dims = new List<int>();
        for (int i = 0; i < x.Rank; i++)
        {
            if (i < lead) { dims.Add(i); continue; }
            int target = shape[i - lead];
            if (target == 1 && x.Shape[i] != 1) dims.Add(i);
            else if (target != x.Shape[i]) throw new ArgumentException($"sum_to: cannot reduce {x.Describe()} to {ShapeUtil.Format(shape)}.");
        }
        var reduced = Sum(x, dims.ToArray(), keepDim: true);
        return Reshape(reduced, shape);
    }

    /// <summary>Expands <paramref name="x"/> to <paramref name="shape"/> by NumPy broadcasting (materialised).</summary>
    public static Tensor BroadcastTo(Tensor x, int[] shape)
    {
        if (ShapeUtil.Same(x.Shape, shape)) return x;
        var target = ShapeUtil.Broadcast("broadcast_to", x.Shape, shape);
        if (!ShapeUtil.Same(target, shape)) throw new ArgumentException($"broadcast_to: {x.Describe()} cannot be expanded to {ShapeUtil.Format(shape)}.");
        var zeros = ZerosLike(shape, x);
        var y = Add(zeros, Detached(x));
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new BroadcastBackward(x));
        return y;
    }

    private sealed class BroadcastBackward(Tensor x) : Node("broadcast_to", x)
    {
        private readonly int[] _shape = x.Shape;
        public override Tensor?[] Backward(Tensor g) => [SumTo(g, _shape)];
    }

    /// <summary>A zero tensor of <paramref name="shape"/> with the dtype and device of <paramref name="like"/> (an op output).</summary>
    internal static Tensor ZerosLike(int[] shape, Tensor like)
    {
        var z = Tensor.NewOutput((int[])shape.Clone(), like.DType, like.Device, clear: like.Device.IsCpu);
        if (!like.Device.IsCpu) DeviceOps.For(like).Fill(z, 0);
        return z;
    }

    /// <summary>The same storage without the autograd link, for reuse inside an op that records its own node.</summary>
    internal static Tensor Detached(Tensor x) => x.RequiresGrad ? x.View(x.Shape, x.Strides, x.Offset) : x;
}
