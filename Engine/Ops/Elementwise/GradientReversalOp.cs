using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Identity forward; backward multiplies the gradient by −<paramref name="alpha"/> (the gradient-reversal layer of
    /// domain-adversarial training; ASTMT puts it before the task discriminator).</summary>
    public static Tensor GradientReversal(Tensor x, double alpha)
    {
        CheckFloat("gradient_reversal", x);
        if (!double.IsFinite(alpha)) throw new ArgumentException($"gradient_reversal: alpha must be finite, got {alpha} (input {x.Describe()}).");
        // A view: the forward copies nothing; only the node differs from x.
        var y = x.View((int[])x.Shape.Clone(), (int[])x.Strides.Clone(), x.Offset);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new GradientReversalBackward(x, alpha));
        return y;
    }

    private sealed class GradientReversalBackward(Tensor x, double alpha) : Node("gradient_reversal", x)
    {
        public override Tensor?[] Backward(Tensor g) => [Mul(g, -alpha)];
    }
}
