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

    // Backward is the differentiable −α·g (what create-graph records). Outside create-graph autograd prefers the in-place form:
    // acc += −α·g straight into the input's pending gradient (Kernels/grad_reversal.cu on the device), no separate negation pass.
    private sealed class GradientReversalBackward(Tensor x, double alpha) : Node("gradient_reversal", x)
    {
        public override Tensor?[] Backward(Tensor g) => [Mul(g, -alpha)];

        internal override bool AccumulatesInPlace => true;

        internal override void AccumulateInputGradient(Tensor gradOutput, Tensor destination, bool accumulate) =>
            GradAccumulation.ReverseAccumulate(destination, gradOutput, alpha, accumulate);
    }
}
