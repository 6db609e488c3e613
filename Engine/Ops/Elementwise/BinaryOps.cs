using System.Numerics;
using System.Runtime.Intrinsics;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>a + b with NumPy broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary<AddOp<float>, AddOp<double>>("add", a, b, BinaryKind.Add);

    /// <summary>a - b with NumPy broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary<SubOp<float>, SubOp<double>>("sub", a, b, BinaryKind.Sub);

    /// <summary>a * b with NumPy broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary<MulOp<float>, MulOp<double>>("mul", a, b, BinaryKind.Mul);

    /// <summary>a / b with NumPy broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary<DivOp<float>, DivOp<double>>("div", a, b, BinaryKind.Div);

    /// <summary>The four broadcasting arithmetic ops.</summary>
    public enum BinaryKind
    {
        /// <summary>a + b</summary>
        Add,
        /// <summary>a - b</summary>
        Sub,
        /// <summary>a * b</summary>
        Mul,
        /// <summary>a / b</summary>
        Div,
    }

    private static Tensor Binary<TF, TD>(string op, Tensor a, Tensor b, BinaryKind kind)
        where TF : IBinaryOp<float> where TD : IBinaryOp<double>
    {
        CheckFloat(op, a);
        CheckPair(op, a, b);
        var shape = ShapeUtil.Broadcast(op, a.Shape, b.Shape);
        var y = Tensor.NewOutput(shape, a.DType, a.Device);
        if (!a.Device.IsCpu) DeviceOps.For(a).Binary(kind, a, b, y);
        else if (a.DType == DType.Float32) BinaryKernel.Run<float, TF>(a, b, y);
        else BinaryKernel.Run<double, TD>(a, b, y);
        if (Autograd.Autograd.IsRecording(a, b)) Autograd.Autograd.Record(y, new BinaryBackward(op, kind, a, b));
        return y;
    }

    private sealed class BinaryBackward(string op, BinaryKind kind, Tensor a, Tensor b) : Node(op, a, b)
    {
        private Tensor? _a = kind is BinaryKind.Mul or BinaryKind.Div ? a : null;
        private Tensor? _b = kind is BinaryKind.Mul or BinaryKind.Div ? b : null;
        private readonly int[] _aShape = a.Shape, _bShape = b.Shape;

        public override Tensor?[] Backward(Tensor g)
        {
            Tensor? ga = null, gb = null;
            switch (kind)
            {
                case BinaryKind.Add:
                    if (NeedsGrad(0)) ga = SumTo(g, _aShape);
                    if (NeedsGrad(1)) gb = SumTo(g, _bShape);
                    break;
                case BinaryKind.Sub:
                    if (NeedsGrad(0)) ga = SumTo(g, _aShape);
                    if (NeedsGrad(1)) gb = SumTo(Neg(g), _bShape);
                    break;
                case BinaryKind.Mul:
                    if (NeedsGrad(0)) ga = SumTo(Mul(g, _b!), _aShape);
                    if (NeedsGrad(1)) gb = SumTo(Mul(g, _a!), _bShape);
                    break;
                case BinaryKind.Div:
                    if (NeedsGrad(0)) ga = SumTo(Div(g, _b!), _aShape);
                    if (NeedsGrad(1)) gb = SumTo(Neg(Div(Mul(g, _a!), Mul(_b!, _b!))), _bShape);
                    break;
            }
            return [ga, gb];
        }

        protected override void ReleaseSaved() { _a = null; _b = null; }
    }
}

/// <summary>A binary elementwise function, scalar and Vector256 forms.</summary>
internal interface IBinaryOp<T> where T : unmanaged
{
    static abstract T Apply(T a, T b);
    static abstract Vector256<T> Apply(Vector256<T> a, Vector256<T> b);
}

internal readonly struct AddOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Apply(T a, T b) => a + b;
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a + b;
}

internal readonly struct SubOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Apply(T a, T b) => a - b;
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a - b;
}

internal readonly struct MulOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Apply(T a, T b) => a * b;
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a * b;
}

internal readonly struct DivOp<T> : IBinaryOp<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Apply(T a, T b) => a / b;
    public static Vector256<T> Apply(Vector256<T> a, Vector256<T> b) => a / b;
}

/// <summary>The broadcasting binary loop: vectorised along the innermost dimension when both operands are dense or one is a scalar there.</summary>
internal static class BinaryKernel
{
    public static void Run<T, TOp>(Tensor a, Tensor b, Tensor y) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryOp<T>
    {
        var shape = y.Shape;
        int rank = shape.Length;
        var sa = ShapeUtil.BroadcastStrides(a.Shape, a.Strides, shape);
        var sb = ShapeUtil.BroadcastStrides(b.Shape, b.Strides, shape);
        T[] da = a.HostArray<T>(), db = b.HostArray<T>();
        var dy = y.Span<T>();
        if (y.Numel == 0) return;
        if (rank == 0) { dy[0] = TOp.Apply(da[a.Offset], db[b.Offset]); return; }
        int inner = shape[rank - 1];
        int ia = sa[rank - 1], ib = sb[rank - 1];
        int outer = y.Numel / inner;
        var dyArr = y.HostArray<T>();
        int rows = outer;
        // Rows are independent: split them over the worker threads when the work is large enough to pay for it.
        Parallelism.For(0, rows, y.Numel >= 1 << 16 ? Math.Max(1, (1 << 14) / inner) : rows, new RowArgs<T>(shape, sa, sb, da, a.Offset, ia, db, b.Offset, ib, dyArr, inner),
            static (in RowArgs<T> args, int r0, int r1) =>
        {
            var (shape, sa, sb, da, aOffset, ia, db, bOffset, ib, dyArr, inner) = args;
            int rank = shape.Length;
            Span<int> idx = stackalloc int[rank];
            int rem = r0;
            int pa = aOffset, pb = bOffset;
            for (int d = rank - 2; d >= 0; d--) { idx[d] = rem % shape[d]; rem /= shape[d]; pa += idx[d] * sa[d]; pb += idx[d] * sb[d]; }
            for (int r = r0; r < r1; r++)
            {
                Row<T, TOp>(da, pa, ia, db, pb, ib, dyArr.AsSpan(r * inner, inner));
                for (int d = rank - 2; d >= 0; d--)
                {
                    idx[d]++; pa += sa[d]; pb += sb[d];
                    if (idx[d] < shape[d]) break;
                    pa -= sa[d] * shape[d]; pb -= sb[d] * shape[d]; idx[d] = 0;
                }
            }
        });
    }

    private readonly record struct RowArgs<T>(int[] Shape, int[] Sa, int[] Sb, T[] Da, int AOffset, int Ia, T[] Db, int BOffset, int Ib, T[] DyArr, int Inner);

    private static void Row<T, TOp>(T[] a, int pa, int ia, T[] b, int pb, int ib, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryOp<T>
    {
        int n = y.Length, i = 0, w = Vector256<T>.Count;
        if (ia == 1 && ib == 1)
        {
            for (; i <= n - w; i += w)
                TOp.Apply(Vector256.Create(a.AsSpan(pa + i, w)), Vector256.Create(b.AsSpan(pb + i, w))).CopyTo(y.Slice(i, w));
            for (; i < n; i++) y[i] = TOp.Apply(a[pa + i], b[pb + i]);
        }
        else if (ia == 1 && ib == 0)
        {
            var vb = Vector256.Create(b[pb]);
            for (; i <= n - w; i += w) TOp.Apply(Vector256.Create(a.AsSpan(pa + i, w)), vb).CopyTo(y.Slice(i, w));
            for (; i < n; i++) y[i] = TOp.Apply(a[pa + i], b[pb]);
        }
        else if (ia == 0 && ib == 1)
        {
            var va = Vector256.Create(a[pa]);
            for (; i <= n - w; i += w) TOp.Apply(va, Vector256.Create(b.AsSpan(pb + i, w))).CopyTo(y.Slice(i, w));
            for (; i < n; i++) y[i] = TOp.Apply(a[pa], b[pb + i]);
        }
        else
        {
            for (; i < n; i++) y[i] = TOp.Apply(a[pa + i * ia], b[pb + i * ib]);
        }
    }
}
