using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>1 / (1 + exp(-x)).</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var y = UnaryForward("sigmoid", UnaryKind.Sigmoid, x);
        return RecordSavingOne<SigmoidGradient>("sigmoid", x, y, y);
    }

    private readonly struct SigmoidGradient : ISavedTensorGradient
    {
        public static Tensor Backward(Tensor g, Tensor y) => SigmoidGrad(g, y);
    }

    /// <summary>The sigmoid backward g·y·(1 − y) as one fused op; differentiable in g and in the sigmoid output y (which carries
    /// the dependence on x into a create-graph pass).</summary>
    internal static Tensor SigmoidGrad(Tensor g, Tensor sigmoidOutput)
    {
        var r = PairForward("sigmoid_backward", PairKind.SigmoidGrad, g, sigmoidOutput);
        if (Autograd.Autograd.IsRecording(g, sigmoidOutput)) Autograd.Autograd.Record(r, new SigmoidGradBackward(g, sigmoidOutput));
        return r;
    }

    private sealed class SigmoidGradBackward(Tensor g, Tensor y) : Node("sigmoid_backward", g, y)
    {
        private Tensor? _g = g, _y = y;

        public override Tensor?[] Backward(Tensor gg)
        {
            var dg = NeedsGrad(0) ? SigmoidGrad(gg, _y!) : null;
            // d/dy of g·y·(1 − y) is g·(1 − 2y).
            var dy = NeedsGrad(1) ? Mul(Mul(gg, _g!), Affine(_y!, -2, 1)) : null;
            return [dg, dy];
        }

        protected override void ReleaseSaved() { _g = null; _y = null; }
    }
}
