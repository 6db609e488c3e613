using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Binary cross-entropy on logits with optional per-element weights (PyTorch's binary_cross_entropy_with_logits):
    /// w·[max(x,0) − x·t + ln(1 + e^−|x|)]. The weight broadcasts to the logits' shape; the mean is over all elements.</summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target, Tensor? weight = null, LossReduction reduction = LossReduction.Mean)
    {
        const string op = "binary_cross_entropy_with_logits";
        CheckFloat(op, logits);
        CheckPair(op, logits, target);
        if (!ShapeUtil.Same(logits.Shape, target.Shape))
            throw new ArgumentException($"{op}: targets must have the logits' shape {ShapeUtil.Format(logits.Shape)}, got {target.Describe()}.");
        if (weight != null)
        {
            CheckPair(op, logits, weight);
            if (!ShapeUtil.Same(ShapeUtil.Broadcast(op, logits.Shape, weight.Shape), logits.Shape))
                throw new ArgumentException($"{op}: the weight {weight.Describe()} must broadcast to the logits' shape {ShapeUtil.Format(logits.Shape)}.");
        }

        var perElement = PairForward(op, PairKind.BceWithLogits, logits, target);
        if (weight != null)
        {
            var weighted = Mul(perElement, Detached(weight));
            perElement.Dispose();
            perElement = weighted;
        }
        var y = reduction switch
        {
            LossReduction.None => perElement,
            LossReduction.Sum => Sum(perElement),
            _ => Mean(perElement),
        };
        if (reduction != LossReduction.None) perElement.Dispose();
        if (Autograd.Autograd.IsRecording(logits, target, weight))
            Autograd.Autograd.Record(y, new BceWithLogitsBackward(logits, target, weight, reduction));
        return y;
    }

    private sealed class BceWithLogitsBackward(Tensor x, Tensor t, Tensor? w, LossReduction reduction)
        : Node("binary_cross_entropy_with_logits", x, t, w)
    {
        private Tensor? _x = x, _t = t, _w = w;
        private readonly int _count = x.Numel;

        public override Tensor?[] Backward(Tensor g)
        {
            // The per-element gradient scale: g itself, or the scalar g (divided by N for the mean) broadcast by Mul.
            var s = reduction == LossReduction.Mean ? Mul(g, 1.0 / Math.Max(_count, 1)) : g;
            Tensor Weighted(Tensor v) => _w == null ? v : Mul(v, _w);
            // Everything below is F ops over the saved inputs, so a create-graph pass differentiates it (σ through Sigmoid).
            var dx = NeedsGrad(0) ? Mul(Weighted(Sub(Sigmoid(_x!), _t!)), s) : null;
            var dt = NeedsGrad(1) ? Mul(Weighted(Neg(_x!)), s) : null;
            var dw = NeedsGrad(2) ? SumTo(Mul(BinaryCrossEntropyWithLogits(_x!, _t!, null, LossReduction.None), s), _w!.Shape) : null;
            return [dx, dt, dw];
        }

        protected override void ReleaseSaved() { _x = null; _t = null; _w = null; }
    }
}
