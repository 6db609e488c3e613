using System.Numerics;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Matrix product of [M,K] and [K,N]. Transposed views (<see cref="Permute"/>(w, 1, 0)) are read in place.</summary>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        const string op = "matmul";
        CheckFloat(op, a);
        CheckPair(op, a, b);
        CheckRank(op, a, 2, "[M,K]");
        CheckRank(op, b, 2, "[K,N]");
        if (a.Shape[1] != b.Shape[0])
            throw new ArgumentException($"{op}: inner dimensions differ: {a.Describe()} times {b.Describe()} (expected [M,K] times [K,N]).");
        var c = Tensor.NewOutput([a.Shape[0], b.Shape[1]], a.DType, a.Device);
        GemmInto(a, b, c, accumulate: false);
        if (Autograd.Autograd.IsRecording(a, b)) Autograd.Autograd.Record(c, new MatMulBackward(a, b));
        return c;
    }

    private sealed class MatMulBackward(Tensor a, Tensor b) : Node("matmul", a, b)
    {
        private Tensor? _a = a, _b = b;

        // dA = g·Bᵀ, dB = Aᵀ·g: matmuls of saved inputs, so differentiable again.
        public override Tensor?[] Backward(Tensor g) =>
        [
            NeedsGrad(0) ? MatMul(g, Permute(_b!, 1, 0)) : null,
            NeedsGrad(1) ? MatMul(Permute(_a!, 1, 0), g) : null,
        ];

        protected override void ReleaseSaved() { _a = null; _b = null; }
    }

    /// <summary>x [B,In] · weightᵀ [Out,In] + bias [Out]. Leading dimensions beyond B are flattened and restored ([..., In]).</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        const string op = "linear";
        CheckFloat(op, x);
        CheckPair(op, x, weight);
        CheckRank(op, weight, 2, "[Out,In]");
        if (x.Rank < 1 || x.Shape[^1] != weight.Shape[1])
            throw new ArgumentException($"{op}: input {x.Describe()} must end in In = {weight.Shape[1]} features to match the weight {weight.Describe()} ([Out,In]).");
        int outFeatures = weight.Shape[0], inFeatures = weight.Shape[1], rows = x.Numel / Math.Max(inFeatures, 1);
        if (bias != null)
        {
            CheckPair(op, x, bias);
            if (bias.Rank != 1 || bias.Shape[0] != outFeatures)
                throw new ArgumentException($"{op}: bias must be [Out] = [{outFeatures}], got {bias.Describe()}.");
        }

        var x2 = Reshape(Detached(x), rows, inFeatures);
        var y = Tensor.NewOutput([rows, outFeatures], x.DType, x.Device);
        if (bias != null)
        {
            if (!x.Device.IsCpu) DeviceOps.For(x).CopyBlocks(Dense(bias), 0, 0, y, 0, outFeatures, outFeatures, rows);
            else if (x.DType == DType.Float32) RepeatRows(Dense(bias).Span<float>(), y.Span<float>());
            else RepeatRows(Dense(bias).Span<double>(), y.Span<double>());
        }
        GemmInto(x2, Permute(Detached(weight), 1, 0), y, accumulate: bias != null);
        var shape = (int[])x.Shape.Clone();
        shape[^1] = outFeatures;
        var result = x.Rank == 2 ? y : Reshape(y, shape);
        if (Autograd.Autograd.IsRecording(x, weight, bias)) Autograd.Autograd.Record(result, new LinearBackward(x, weight, bias));
        return result;
    }

    private static void RepeatRows<T>(ReadOnlySpan<T> row, Span<T> y) where T : unmanaged
    {
        for (int at = 0; at < y.Length; at += row.Length) row.CopyTo(y.Slice(at, row.Length));
    }

    private sealed class LinearBackward(Tensor x, Tensor w, Tensor? b) : Node("linear", x, w, b)
    {
        private Tensor? _x = x, _w = w;

        public override Tensor?[] Backward(Tensor g)
        {
            int outFeatures = _w!.Shape[0], inFeatures = _w.Shape[1];
            var g2 = Reshape(g, -1, outFeatures);
            var dx = NeedsGrad(0) ? Reshape(MatMul(g2, _w), _x!.Shape) : null;
            var dw = NeedsGrad(1) ? MatMul(Permute(g2, 1, 0), Reshape(_x!, -1, inFeatures)) : null;
            var db = NeedsGrad(2) ? Sum(g2, [0]) : null;
            return [dx, dw, db];
        }

        protected override void ReleaseSaved() { _x = null; _w = null; }
    }

    /// <summary>c = a·b (+ c when <paramref name="accumulate"/>) for 2-D a [M,K], b [K,N] and dense c [M,N], reading
    /// row-major and transposed operands in place.</summary>
    internal static void GemmInto(Tensor a, Tensor b, Tensor c, bool accumulate)
    {
        var (da, ta, lda) = GemmOperand(a);
        var (db, tb, ldb) = GemmOperand(b);
        int m = c.Shape[0], n = c.Shape[1], k = a.Shape[1];
        if (!a.Device.IsCpu) DeviceOps.For(a).Gemm(ta, tb, m, n, k, da, lda, db, ldb, c, accumulate ? 1 : 0);
        else if (c.Numel > 0)
        {
            if (a.DType == DType.Float32) MatMulKernel.Run<float>(ta, tb, m, n, k, da, lda, db, ldb, c, accumulate);
            else MatMulKernel.Run<double>(ta, tb, m, n, k, da, lda, db, ldb, c, accumulate);
        }
        ReleaseTemporary(da, a);
        ReleaseTemporary(db, b);
    }

    /// <summary>How GEMM reads a 2-D operand: as stored, transposed (a permuted dense matrix), or from a dense copy.</summary>
    private static (Tensor Data, Transpose Trans, int Ld) GemmOperand(Tensor t)
    {
        int rows = t.Shape[0], cols = t.Shape[1];
        if (t.IsContiguous) return (t, Transpose.No, Math.Max(cols, 1));
        if ((rows == 1 || t.Strides[0] == 1) && (cols == 1 || t.Strides[1] == rows))
            return (t, Transpose.Yes, Math.Max(rows, 1));
        return (t.ContiguousCopy(), Transpose.No, Math.Max(cols, 1));
    }
}

/// <summary>Host GEMM over tensors. Float32 goes to the packed multithreaded <see cref="Gemm.Sgemm"/> in one call; float64 (the
/// reference path) splits the rows of C over the worker threads, each range a GEMM on slices of A and C.</summary>
internal static class MatMulKernel
{
    public static void Run<T>(Transpose ta, Transpose tb, int m, int n, int k, Tensor a, int lda, Tensor b, int ldb, Tensor c, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            Gemm.Sgemm(ta, tb, m, n, k, 1f, a.HostArray<float>().AsSpan(a.Offset), lda, b.HostArray<float>().AsSpan(b.Offset), ldb,
                accumulate ? 1f : 0f, c.HostArray<float>().AsSpan(c.Offset, m * n), n);
            return;
        }
        RunDouble(ta, tb, m, n, k, a, lda, b, ldb, c, accumulate);
    }

    // Separate from Run so that the float32 path does not allocate this path's closure.
    private static void RunDouble(Transpose ta, Transpose tb, int m, int n, int k, Tensor a, int lda, Tensor b, int ldb, Tensor c, bool accumulate)
    {
        double[] aa = a.HostArray<double>(), ba = b.HostArray<double>(), ca = c.HostArray<double>();
        int ao = a.Offset, bo = b.Offset, co = c.Offset;
        double beta = accumulate ? 1 : 0;
        long work = (long)m * n * Math.Max(k, 1);
        int minRows = (int)Math.Max(1, (1L << 17) / Math.Max(1L, (long)n * Math.Max(k, 1)));
        if (work < 1L << 18) Rows(0, m);
        else Parallelism.For(0, m, minRows, Rows);

        void Rows(int r0, int r1)
        {
            // Row r of op(A) starts at r·lda as stored, or at column r of the stored matrix when transposed.
            int aStart = ao + (ta == Transpose.No ? r0 * lda : r0);
            Gemm.Dgemm(ta, tb, r1 - r0, n, k, 1d, aa.AsSpan(aStart), lda, ba.AsSpan(bo), ldb, beta, ca.AsSpan(co + r0 * n, (r1 - r0) * n), n);
        }
    }
}
