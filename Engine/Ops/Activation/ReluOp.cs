using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x)
    {
        var y = UnaryForward("relu", UnaryKind.Relu, x);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new ReluBackward(x, y));
        return y;
    }

    private sealed class ReluBackward(Tensor x, Tensor y) : Node("relu", x)
    {
        private Tensor? _y = y;
        public override Tensor?[] Backward(Tensor g) => [ReluGrad(g, _y!)];
        protected override void ReleaseSaved() => _y = null;
    }

    /// <summary>The ReLU backward, g where y &gt; 0 else 0, as an op of its own: linear in g with a mask that is constant almost
    /// everywhere, so its own backward is itself.</summary>
    internal static Tensor ReluGrad(Tensor g, Tensor reluOutput)
    {
        var r = PairForward("relu_backward", PairKind.ReluGrad, g, reluOutput);
        if (Autograd.Autograd.IsRecording(g)) Autograd.Autograd.Record(r, new ReluGradBackward(g, reluOutput));
        return r;
    }

    private sealed class ReluGradBackward(Tensor g, Tensor y) : Node("relu_backward", g)
    {
        private Tensor? _y = y;
        public override Tensor?[] Backward(Tensor gg) => [ReluGrad(gg, _y!)];
        protected override void ReleaseSaved() => _y = null;
    }
}
