using Astmt.Engine.Ops;

namespace Astmt.Engine.Cuda.Backend;

// Fill, affine, in-place add, unary and pair functions, broadcasting binary ops and block copies (Kernels/elementwise.cu,
// Kernels/resize.cu's copy_blocks, Kernels/loss.cu's per-element BCE).
public sealed partial class CudaBackend
{
    /// <summary>Matches struct astmt_broadcast6 in Kernels/elementwise.cu.</summary>
    private unsafe struct Broadcast6
    {
        public fixed int Size[6];
        public fixed int AStride[6];
        public fixed int BStride[6];
    }

    /// <inheritdoc />
    public void Fill(Tensor t, double value)
    {
        if (t.DType == DType.Int64) LaunchElements("fill_i64", t.Numel, new KernelArgs().Ptr(Ptr(Dense("fill", t))).Long((long)value).Long(t.Numel));
        else LaunchElements("fill_f32", t.Numel, new KernelArgs().Ptr(F32("fill", t)).Float((float)value).Long(t.Numel));
    }

    /// <inheritdoc />
    public void AddScalarInt64(Tensor t, long value)
    {
        if (t.DType != DType.Int64) throw new ArgumentException($"add_scalar_i64: expected an Int64 tensor, got {t.Describe()}.");
        LaunchElements("add_scalar_i64", t.Numel, new KernelArgs().Ptr(Ptr(Dense("add_scalar_i64", t))).Long(value).Long(t.Numel));
    }

    /// <inheritdoc />
    public void Convert(Tensor x, Tensor y)
    {
        if (x.DType == DType.Float32 && y.DType == DType.Int64)
            LaunchElements("convert_f32_i64", y.Numel, new KernelArgs().Ptr(Ptr(Dense("convert", y))).Ptr(F32("convert", x)).Long(y.Numel));
        else if (x.DType == DType.Int64 && y.DType == DType.Float32)
            LaunchElements("convert_i64_f32", y.Numel, new KernelArgs().Ptr(F32("convert", y)).Ptr(Ptr(Dense("convert", x))).Long(y.Numel));
        else
            throw DeviceKernelMissing.Error($"convert {x.DType} to {y.DType}", x);
    }

    /// <inheritdoc />
    public void AddInPlace(Tensor dst, Tensor src) =>
        LaunchElements("add_inplace_f32", dst.Numel, new KernelArgs().Ptr(F32("add_", dst)).Ptr(F32("add_", src)).Long(dst.Numel));

    /// <inheritdoc />
    public void Affine(Tensor x, double scale, double shift, Tensor y) =>
        LaunchElements("affine_f32", y.Numel, new KernelArgs().Ptr(F32("affine", y)).Ptr(F32("affine", x)).Float((float)scale).Float((float)shift).Long(y.Numel));

    /// <inheritdoc />
    public unsafe void Binary(F.BinaryKind kind, Tensor a, Tensor b, Tensor y)
    {
        if (y.Rank > 6) throw new NotSupportedException($"Broadcasting binary ops on the device support up to 6 dimensions; got {y.Describe()}.");
        if (a.DType != DType.Float32 || b.DType != DType.Float32) throw new NotSupportedException($"Binary op on the device needs float32; got {a.Describe()} and {b.Describe()}.");
        var shape = new Broadcast6();
        int pad = 6 - y.Rank;
        for (int d = 0; d < 6; d++)
        {
            int yd = d - pad;
            shape.Size[d] = yd < 0 ? 1 : y.Shape[yd];
            shape.AStride[d] = StrideFor(a, yd, y.Rank);
            shape.BStride[d] = StrideFor(b, yd, y.Rank);
        }
        int op = kind switch { F.BinaryKind.Add => 0, F.BinaryKind.Sub => 1, F.BinaryKind.Mul => 2, _ => 3 };
        LaunchElements("binary_broadcast_f32", y.Numel,
            new KernelArgs().Ptr(F32("binary", y)).Ptr(Ptr(a)).Ptr(Ptr(b)).Int(op).Struct(shape).Long(y.Numel));
    }

    /// <summary>Makes a strided float32 view on this device contiguous (Kernels/elementwise.cu gather_strided_f32).</summary>
    private unsafe void GatherStrided(Tensor source, Tensor destination)
    {
        if (source.Rank > 6) throw new NotSupportedException($"Strided copies on the device support up to 6 dimensions; got {source.Describe()}.");
        var shape = new Broadcast6();
        int pad = 6 - source.Rank;
        for (int d = 0; d < 6; d++)
        {
            shape.Size[d] = d < pad ? 1 : source.Shape[d - pad];
            shape.AStride[d] = d < pad ? 0 : source.Strides[d - pad];
        }
        LaunchElements("gather_strided_f32", destination.Numel, new KernelArgs().Ptr(F32("contiguous", destination)).Ptr(Ptr(source)).Struct(shape).Long(destination.Numel));
    }

    // The element stride of operand t along output dimension yd (right-aligned); 0 where t is broadcast.
    private static int StrideFor(Tensor t, int yd, int yRank)
    {
        if (yd < 0) return 0;
        int td = yd - (yRank - t.Rank);
        if (td < 0 || t.Shape[td] == 1) return 0;
        return t.Strides[td];
    }

    /// <inheritdoc />
    public void CopyBlocks(Tensor src, int srcOffset, int srcStride, Tensor dst, int dstOffset, int dstStride, int length, int count)
    {
        if (src.DType != dst.DType) throw new ArgumentException($"CopyBlocks: {src.Describe()} and {dst.Describe()} differ in dtype.");
        // copy_blocks moves 32-bit words; an int64 element is two of them.
        int words = src.DType.SizeOf() / 4;
        LaunchElements("copy_blocks", (long)length * count * words, new KernelArgs().Ptr(Ptr(dst)).Ptr(Ptr(src))
            .Long((long)srcOffset * words).Long((long)srcStride * words).Long((long)dstOffset * words).Long((long)dstStride * words)
            .Long((long)length * words).Long(count));
    }

    /// <inheritdoc />
    public void Unary(F.UnaryKind kind, Tensor x, Tensor y, double p, double q)
    {
        int op = kind switch
        {
            F.UnaryKind.Relu => 0,
            F.UnaryKind.Sigmoid => 1,
            F.UnaryKind.Exp => 2,
            F.UnaryKind.Log => 3,
            F.UnaryKind.Sqrt => 4,
            F.UnaryKind.Abs => 5,
            F.UnaryKind.Square => 6,
            F.UnaryKind.Pow => 7,
            F.UnaryKind.Clamp => 10,
            F.UnaryKind.Sign => 11,
            F.UnaryKind.NotEqualMask => 12,
            F.UnaryKind.GreaterMask => 13,
            F.UnaryKind.InsideMask => 14,
            _ => throw DeviceKernelMissing.Error("unary/" + kind, x),
        };
        LaunchElements("unary_f32", y.Numel, new KernelArgs().Ptr(F32("unary", y)).Ptr(F32("unary", x)).Int(op)
            .Float(ToFloat(p)).Float(ToFloat(q)).Long(y.Numel));
    }

    private static float ToFloat(double v) => double.IsPositiveInfinity(v) ? float.PositiveInfinity : double.IsNegativeInfinity(v) ? float.NegativeInfinity : (float)v;

    /// <inheritdoc />
    public void Pair(F.PairKind kind, Tensor a, Tensor b, Tensor y)
    {
        switch (kind)
        {
            case F.PairKind.ReluGrad:
                LaunchElements("relu_bwd", y.Numel, new KernelArgs().Ptr(F32("relu_grad", y)).Ptr(F32("relu_grad", a)).Ptr(F32("relu_grad", b)).Long(y.Numel));
                break;
            case F.PairKind.SigmoidGrad:
                LaunchElements("sigmoid_bwd", y.Numel, new KernelArgs().Ptr(F32("sigmoid_grad", y)).Ptr(F32("sigmoid_grad", a)).Ptr(F32("sigmoid_grad", b)).Long(y.Numel));
                break;
            case F.PairKind.BceWithLogits:
                using (var acc = Temp(1))
                {
                    acc.Clear();
                    LaunchElements("bce_logits_fwd", y.Numel, new KernelArgs().Ptr(acc.DevicePointer).Ptr(F32("bce", y)).Ptr(F32("bce", a))
                        .Ptr(F32("bce", b)).Ptr(0).Long(y.Numel));
                }
                break;
            default:
                throw DeviceKernelMissing.Error("pair/" + kind, a);
        }
    }
}
