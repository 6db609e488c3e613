using System.Numerics;
using System.Runtime.Intrinsics;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>The one-input elementwise functions a device backend implements (see <see cref="IDeviceOps.Unary"/>).</summary>
    public enum UnaryKind
    {
        /// <summary>max(x, 0).</summary>
        Relu,
        /// <summary>1 / (1 + exp(-x)).</summary>
        Sigmoid,
        /// <summary>exp(x).</summary>
        Exp,
        /// <summary>ln(x).</summary>
        Log,
        /// <summary>√x.</summary>
        Sqrt,
        /// <summary>|x|.</summary>
        Abs,
        /// <summary>x².</summary>
        Square,
        /// <summary>x^p (p in the first parameter).</summary>
        Pow,
        /// <summary>min(max(x, p), q); open bounds are ±∞.</summary>
        Clamp,
        /// <summary>−1, 0 or 1.</summary>
        Sign,
        /// <summary>1 where x ≠ p, else 0.</summary>
        NotEqualMask,
        /// <summary>1 where x &gt; p, else 0.</summary>
        GreaterMask,
        /// <summary>1 where p ≤ x ≤ q, else 0 (the gradient mask of clamp).</summary>
        InsideMask,
    }

    /// <summary>Runs one elementwise function into a new dense output (no autograd: each op records its own node).</summary>
    internal static Tensor UnaryForward(string op, UnaryKind kind, Tensor x, double p = 0, double q = 0)
    {
        CheckFloat(op, x);
        var y = Tensor.NewOutputLike(x);
        var src = Dense(x);
        if (!x.Device.IsCpu) DeviceOps.For(x).Unary(kind, src, y, p, q);
        else if (x.DType == DType.Float32) UnaryCpu<float>(kind, src, y, p, q);
        else UnaryCpu<double>(kind, src, y, p, q);
        ReleaseTemporary(src, x);
        return y;
    }

    /// <summary>Returns a temporary copy made by <see cref="Dense"/> to the pool now rather than at the end of the step.</summary>
    internal static void ReleaseTemporary(Tensor temporary, Tensor original)
    {
        if (!ReferenceEquals(temporary, original)) temporary.Dispose();
    }

    private static void UnaryCpu<T>(UnaryKind kind, Tensor x, Tensor y, double p, double q) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T tp = T.CreateSaturating(p), tq = T.CreateSaturating(q);
        switch (kind)
        {
            case UnaryKind.Relu: PointwiseKernels.Map<T, ReluKernel<T>>(x, y, default); break;
            case UnaryKind.Sigmoid: PointwiseKernels.Map<T, SigmoidKernel<T>>(x, y, default); break;
            case UnaryKind.Exp: PointwiseKernels.Map<T, ExpKernel<T>>(x, y, default); break;
            case UnaryKind.Log: PointwiseKernels.Map<T, LogKernel<T>>(x, y, default); break;
            case UnaryKind.Sqrt: PointwiseKernels.Map<T, SqrtKernel<T>>(x, y, default); break;
            case UnaryKind.Abs: PointwiseKernels.Map<T, AbsKernel<T>>(x, y, default); break;
            case UnaryKind.Square: PointwiseKernels.Map<T, SquareKernel<T>>(x, y, default); break;
            case UnaryKind.Pow: PointwiseKernels.Map<T, PowKernel<T>>(x, y, new(tp)); break;
            case UnaryKind.Clamp: PointwiseKernels.Map<T, ClampKernel<T>>(x, y, new(tp, tq)); break;
            case UnaryKind.Sign: PointwiseKernels.Map<T, SignKernel<T>>(x, y, default); break;
            case UnaryKind.NotEqualMask: PointwiseKernels.Map<T, NotEqualKernel<T>>(x, y, new(tp)); break;
            case UnaryKind.GreaterMask: PointwiseKernels.Map<T, GreaterKernel<T>>(x, y, new(tp)); break;
            case UnaryKind.InsideMask: PointwiseKernels.Map<T, InsideKernel<T>>(x, y, new(tp, tq)); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown unary kind");
        }
    }
}

internal readonly struct ReluKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Max(x, T.Zero);
    public Vector256<T> Apply(Vector256<T> x) => Vector256.Max(x, Vector256<T>.Zero);
}

internal readonly struct SigmoidKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.One / (T.One + T.Exp(-x));
    public Vector256<T> Apply(Vector256<T> x) => Vector256.Create(T.One) / (Vector256.Create(T.One) + VectorFunctions.Exp(-x));
}

internal readonly struct ExpKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Exp(x);
    public Vector256<T> Apply(Vector256<T> x) => VectorFunctions.Exp(x);
}

internal readonly struct LogKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Log(x);
    public Vector256<T> Apply(Vector256<T> x) => VectorFunctions.Log(x);
}

internal readonly struct SqrtKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Sqrt(x);
    public Vector256<T> Apply(Vector256<T> x) => Vector256.Sqrt(x);
}

internal readonly struct AbsKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Abs(x);
    public Vector256<T> Apply(Vector256<T> x) => Vector256.Abs(x);
}

internal readonly struct SquareKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => x * x;
    public Vector256<T> Apply(Vector256<T> x) => x * x;
}

internal readonly struct PowKernel<T>(T p) : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Pow(x, p);

    public Vector256<T> Apply(Vector256<T> x)
    {
        // No vector pow exists; the common exponents get exact vector forms, the rest go lane by lane.
        if (p == T.CreateTruncating(2)) return x * x;
        if (p == T.One) return x;
        if (p == T.CreateTruncating(0.5)) return Vector256.Sqrt(x);
        Span<T> lanes = stackalloc T[Vector256<T>.Count];
        x.CopyTo(lanes);
        for (int i = 0; i < lanes.Length; i++) lanes[i] = T.Pow(lanes[i], p);
        return Vector256.Create<T>(lanes);
    }
}

internal readonly struct ClampKernel<T>(T lo, T hi) : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => T.Min(T.Max(x, lo), hi);
    public Vector256<T> Apply(Vector256<T> x) => Vector256.Min(Vector256.Max(x, Vector256.Create(lo)), Vector256.Create(hi));
}

internal readonly struct SignKernel<T> : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => x > T.Zero ? T.One : x < T.Zero ? -T.One : T.Zero;
    public Vector256<T> Apply(Vector256<T> x) =>
        VectorFunctions.Indicator(Vector256.GreaterThan(x, Vector256<T>.Zero)) - VectorFunctions.Indicator(Vector256.LessThan(x, Vector256<T>.Zero));
}

internal readonly struct NotEqualKernel<T>(T value) : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => x != value ? T.One : T.Zero;
    public Vector256<T> Apply(Vector256<T> x) => VectorFunctions.Indicator(~Vector256.Equals(x, Vector256.Create(value)));
}

internal readonly struct GreaterKernel<T>(T value) : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => x > value ? T.One : T.Zero;
    public Vector256<T> Apply(Vector256<T> x) => VectorFunctions.Indicator(Vector256.GreaterThan(x, Vector256.Create(value)));
}

internal readonly struct InsideKernel<T>(T lo, T hi) : IUnaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T x) => x >= lo && x <= hi ? T.One : T.Zero;
    public Vector256<T> Apply(Vector256<T> x) =>
        VectorFunctions.Indicator(Vector256.GreaterThanOrEqual(x, Vector256.Create(lo)) & Vector256.LessThanOrEqual(x, Vector256.Create(hi)));
}
