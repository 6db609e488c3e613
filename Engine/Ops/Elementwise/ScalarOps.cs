using System.Numerics;
using System.Runtime.Intrinsics;
using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>y = x·<paramref name="scale"/> + <paramref name="shift"/>, elementwise (the scalar forms of add, sub, mul and div).</summary>
    public static Tensor Affine(Tensor x, double scale, double shift)
    {
        CheckFloat("affine", x);
        var y = Tensor.NewOutputLike(x);
        var src = Dense(x);
        if (!x.Device.IsCpu) DeviceOps.For(x).Affine(src, scale, shift, y);
        else if (x.DType == DType.Float32) AffineKernel(src.Span<float>(), (float)scale, (float)shift, y.Span<float>());
        else AffineKernel(src.Span<double>(), scale, shift, y.Span<double>());
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new AffineBackward(x, scale));
        return y;
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x) => Affine(x, -1, 0);

    /// <summary>x + s.</summary>
    public static Tensor Add(Tensor x, double s) => Affine(x, 1, s);

    /// <summary>x - s.</summary>
    public static Tensor Sub(Tensor x, double s) => Affine(x, 1, -s);

    /// <summary>x · s.</summary>
    public static Tensor Mul(Tensor x, double s) => Affine(x, s, 0);

    /// <summary>x / s.</summary>
    public static Tensor Div(Tensor x, double s) => Affine(x, 1 / s, 0);

    private static void AffineKernel<T>(ReadOnlySpan<T> x, T scale, T shift, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = System.Runtime.Intrinsics.Vector256<T>.Count;
        var vs = System.Runtime.Intrinsics.Vector256.Create(scale);
        var vt = System.Runtime.Intrinsics.Vector256.Create(shift);
        for (; i <= x.Length - w; i += w)
            (System.Runtime.Intrinsics.Vector256.Create(x.Slice(i, w)) * vs + vt).CopyTo(y.Slice(i, w));
        for (; i < x.Length; i++) y[i] = x[i] * scale + shift;
    }

    private sealed class AffineBackward(Tensor x, double scale) : Node("affine", x)
    {
        public override Tensor?[] Backward(Tensor g) => [scale == 1 ? g : Affine(g, scale, 0)];
    }
}
