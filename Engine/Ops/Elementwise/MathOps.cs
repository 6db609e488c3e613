using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

// exp, log, sqrt, abs, square, pow and clamp. Each backward is written with F ops over saved inputs or outputs, so a
// create-graph pass differentiates it again.
public static partial class F
{
    /// <summary>exp(x).</summary>
    public static Tensor Exp(Tensor x)
    {
        var y = UnaryForward("exp", UnaryKind.Exp, x);
        return RecordSavingOne<ExpGradient>("exp", x, y, y);
    }

    private readonly struct ExpGradient : ISavedTensorGradient
    {
        public static Tensor Backward(Tensor g, Tensor y) => Mul(g, y);
    }

    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x)
    {
        var y = UnaryForward("log", UnaryKind.Log, x);
        return RecordSavingOne<LogGradient>("log", x, y, x);
    }

    private readonly struct LogGradient : ISavedTensorGradient
    {
        public static Tensor Backward(Tensor g, Tensor x) => Div(g, x);
    }

    /// <summary>Square root.</summary>
    public static Tensor Sqrt(Tensor x)
    {
        var y = UnaryForward("sqrt", UnaryKind.Sqrt, x);
        return RecordSavingOne<SqrtGradient>("sqrt", x, y, y);
    }

    private readonly struct SqrtGradient : ISavedTensorGradient
    {
        public static Tensor Backward(Tensor g, Tensor y) => Div(Mul(g, 0.5), y);
    }

    /// <summary>|x|. The gradient is sign(x), 0 at 0 (as PyTorch).</summary>
    public static Tensor Abs(Tensor x)
    {
        var y = UnaryForward("abs", UnaryKind.Abs, x);
        return RecordSavingOne<AbsGradient>("abs", x, y, x);
    }

    private readonly struct AbsGradient : ISavedTensorGradient
    {
        public static Tensor Backward(Tensor g, Tensor x) => Mul(g, Sign(x));
    }

    /// <summary>x².</summary>
    public static Tensor Square(Tensor x)
    {
        var y = UnaryForward("square", UnaryKind.Square, x);
        return RecordSavingOne<SquareGradient>("square", x, y, x);
    }

    private readonly struct SquareGradient : ISavedTensorGradient
    {
        public static Tensor Backward(Tensor g, Tensor x) => Mul(g, Mul(x, 2.0));
    }

    /// <summary>x^p.</summary>
    public static Tensor Pow(Tensor x, double p)
    {
        if (!double.IsFinite(p)) throw new ArgumentException($"pow: the exponent must be finite, got {p} (input {x.Describe()}).");
        var y = UnaryForward("pow", UnaryKind.Pow, x, p);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new PowBackward(x, p));
        return y;
    }

    private sealed class PowBackward(Tensor x, double p) : Node("pow", x)
    {
        private Tensor? _x = x;

        public override Tensor?[] Backward(Tensor g) => [p switch
        {
            0 => Mul(g, 0.0),
            1 => g,
            2 => Mul(g, Mul(_x!, 2.0)),
            _ => Mul(g, Mul(Pow(_x!, p - 1), p)),
        }];

        protected override void ReleaseSaved() => _x = null;
    }

    /// <summary>Clamps into [min, max]; a null bound is open. Gradient 1 inside, 0 outside.</summary>
    public static Tensor Clamp(Tensor x, double? min, double? max)
    {
        if (min is { } a && max is { } b && a > b) throw new ArgumentException($"clamp: min {a} is greater than max {b} (input {x.Describe()}).");
        double lo = min ?? double.NegativeInfinity, hi = max ?? double.PositiveInfinity;
        var y = UnaryForward("clamp", UnaryKind.Clamp, x, lo, hi);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new ClampBackward(x, lo, hi));
        return y;
    }

    private sealed class ClampBackward(Tensor x, double lo, double hi) : Node("clamp", x)
    {
        private Tensor? _x = x;
        public override Tensor?[] Backward(Tensor g) => [Mul(g, UnaryForward("clamp_mask", UnaryKind.InsideMask, _x!, lo, hi))];
        protected override void ReleaseSaved() => _x = null;
    }
}
