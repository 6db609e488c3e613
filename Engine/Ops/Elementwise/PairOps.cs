using System.Numerics;
using System.Runtime.Intrinsics;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>The fused two-input elementwise functions (equal shapes) a device backend implements (see <see cref="IDeviceOps.Pair"/>).</summary>
    public enum PairKind
    {
        /// <summary>a where b &gt; 0, else 0: the ReLU backward with a = gradient, b = ReLU output.</summary>
        ReluGrad,
        /// <summary>a·b·(1 − b): the sigmoid backward with a = gradient, b = sigmoid output.</summary>
        SigmoidGrad,
        /// <summary>max(a, 0) − a·b + ln(1 + exp(−|a|)): binary cross-entropy of logits a against targets b, per element.</summary>
        BceWithLogits,
    }

    /// <summary>Runs one fused pair function into a new dense output (no autograd: each op records its own node).</summary>
    internal static Tensor PairForward(string op, PairKind kind, Tensor a, Tensor b)
    {
        CheckFloat(op, a);
        CheckPair(op, a, b);
        if (!ShapeUtil.Same(a.Shape, b.Shape))
            throw new ArgumentException($"{op}: expected tensors of the same shape, got {a.Describe()} and {b.Describe()}.");
        var y = Tensor.NewOutputLike(a);
        var da = Dense(a);
        var db = Dense(b);
        if (!a.Device.IsCpu) DeviceOps.For(a).Pair(kind, da, db, y);
        else if (a.DType == DType.Float32) PairCpu<float>(kind, da, db, y);
        else PairCpu<double>(kind, da, db, y);
        ReleaseTemporary(da, a);
        ReleaseTemporary(db, b);
        return y;
    }

    private static void PairCpu<T>(PairKind kind, Tensor a, Tensor b, Tensor y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (kind)
        {
            case PairKind.ReluGrad: PointwiseKernels.Zip<T, ReluGradKernel<T>>(a, b, y, default); break;
            case PairKind.SigmoidGrad: PointwiseKernels.Zip<T, SigmoidGradKernel<T>>(a, b, y, default); break;
            case PairKind.BceWithLogits: PointwiseKernels.Zip<T, BceWithLogitsKernel<T>>(a, b, y, default); break;
            default: throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown pair kind");
        }
    }
}

internal readonly struct ReluGradKernel<T> : IPairKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T g, T y) => y > T.Zero ? g : T.Zero;
    public Vector256<T> Apply(Vector256<T> g, Vector256<T> y) => Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<T>.Zero), g, Vector256<T>.Zero);
}

internal readonly struct SigmoidGradKernel<T> : IPairKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T Apply(T g, T y) => g * y * (T.One - y);
    public Vector256<T> Apply(Vector256<T> g, Vector256<T> y) => g * y * (Vector256.Create(T.One) - y);
}

internal readonly struct BceWithLogitsKernel<T> : IPairKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // The stable form: never exponentiates a positive number, so large logits of either sign stay finite.
    public T Apply(T x, T t) => T.Max(x, T.Zero) - x * t + T.Log(T.One + T.Exp(-T.Abs(x)));

    public Vector256<T> Apply(Vector256<T> x, Vector256<T> t) =>
        Vector256.Max(x, Vector256<T>.Zero) - x * t + VectorFunctions.Log(Vector256.Create(T.One) + VectorFunctions.Exp(-Vector256.Abs(x)));
}
