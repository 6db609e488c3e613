using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Max pooling that also returns, per output, the flat index (h·W + w) of the winner within its input plane, as
    /// PyTorch's <c>return_indices=True</c>.</summary>
    public static (Tensor Output, Tensor Indices) MaxPool2dWithIndices(Tensor x, int kernel, int stride, int padding = 0)
    {
        const string op = "max_pool2d";
        CheckFloat(op, x);
        CheckRank(op, x, 4, "B,C,H,W");
        if (kernel < 1 || stride < 1)
            throw new ArgumentOutOfRangeException(nameof(kernel), $"{op}: kernel and stride must be at least 1, got kernel {kernel}, stride {stride} for {x.Describe()}.");
        if (padding < 0 || padding > kernel / 2)
            throw new ArgumentOutOfRangeException(nameof(padding), $"{op}: padding must be between 0 and kernel/2 = {kernel / 2} (as PyTorch), got {padding}.");
        int b = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        if (h + 2 * padding < kernel || w + 2 * padding < kernel)
            throw new ArgumentException($"{op}: a {kernel}x{kernel} window does not fit the padded input {h + 2 * padding}x{w + 2 * padding} of {x.Describe()}.");
        int p = (h + 2 * padding - kernel) / stride + 1, q = (w + 2 * padding - kernel) / stride + 1;
        var y = Tensor.NewOutput([b, c, p, q], x.DType, x.Device);
        var indices = Tensor.NewOutput([b, c, p, q], DType.Int64, x.Device);
        var xd = Dense(x);
        if (!x.Device.IsCpu) DeviceOps.For(x).MaxPool2dForward(xd, y, indices, kernel, stride, padding);
        else if (x.DType == DType.Float32)
            MaxPoolKernels.Forward(xd.HostArray<float>(), xd.Offset, y.HostArray<float>(), indices.HostArray<long>(), b * c, h, w, p, q, kernel, stride, padding);
        else
            MaxPoolKernels.Forward(xd.HostArray<double>(), xd.Offset, y.HostArray<double>(), indices.HostArray<long>(), b * c, h, w, p, q, kernel, stride, padding);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new MaxPoolBackward(x, indices));
        return (y, indices);
    }

    /// <summary>Max pooling without indices.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride, int padding = 0) => MaxPool2dWithIndices(x, kernel, stride, padding).Output;

    /// <summary>Scatters each value of x to the position its index names in an output plane of <paramref name="outputHeight"/>×<paramref name="outputWidth"/>; zeros elsewhere.</summary>
    /// <remarks>Indices from a non-overlapping pool are distinct; where indices repeat, the values add (PyTorch leaves that case undefined).</remarks>
    public static Tensor MaxUnpool2d(Tensor x, Tensor indices, int outputHeight, int outputWidth)
    {
        const string op = "max_unpool2d";
        CheckIndexOperands(op, x, indices, outputHeight, outputWidth);
        return IndexScatterAdd2d(x, indices, outputHeight, outputWidth, op);
    }

    /// <summary>
    /// Routes values [B,C,P,Q] into zero planes [B,C,H,W] at the flat positions (h·W + w) that <paramref name="indices"/>
    /// [B,C,P,Q] names, adding where positions repeat: the gradient of max pooling. Differentiable (its gradient is a gather).
    /// </summary>
    public static Tensor IndexScatterAdd2d(Tensor values, Tensor indices, int height, int width)
    {
        const string op = "index_scatter_add2d";
        CheckIndexOperands(op, values, indices, height, width);
        return IndexScatterAdd2d(values, indices, height, width, op);
    }

    /// <summary>Reads x [B,C,H,W] at the flat positions (h·W + w) of <paramref name="indices"/> [B,C,P,Q] → [B,C,P,Q]. Differentiable.</summary>
    public static Tensor IndexGather2d(Tensor x, Tensor indices)
    {
        const string op = "index_gather2d";
        CheckFloat(op, x);
        CheckRank(op, x, 4, "B,C,H,W");
        if (indices.Rank != 4 || indices.Shape[0] != x.Shape[0] || indices.Shape[1] != x.Shape[1])
            throw new ArgumentException($"{op}: indices must be [B,C,P,Q] with the batch and channels of x {x.Describe()}, got {indices.Describe()}.");
        CheckIndices(op, indices, x, x.Shape[2], x.Shape[3]);
        int planes = x.Shape[0] * x.Shape[1], srcPlane = x.Shape[2] * x.Shape[3], dstPlane = indices.Shape[2] * indices.Shape[3];
        var y = Tensor.NewOutput((int[])indices.Shape.Clone(), x.DType, x.Device);
        Tensor xd = Dense(x), id = Dense(indices);
        if (!x.Device.IsCpu) DeviceOps.For(x).IndexGather2d(xd, id, y);
        else if (x.DType == DType.Float32)
            MaxPoolKernels.Gather(xd.HostArray<float>(), xd.Offset, id.HostArray<long>(), id.Offset, y.HostArray<float>(), planes, srcPlane, dstPlane);
        else
            MaxPoolKernels.Gather(xd.HostArray<double>(), xd.Offset, id.HostArray<long>(), id.Offset, y.HostArray<double>(), planes, srcPlane, dstPlane);
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new IndexGatherBackward(x, indices));
        return y;
    }

    private static Tensor IndexScatterAdd2d(Tensor values, Tensor indices, int height, int width, string op)
    {
        int planes = values.Shape[0] * values.Shape[1], srcPlane = values.Shape[2] * values.Shape[3];
        var y = Tensor.NewOutput([values.Shape[0], values.Shape[1], height, width], values.DType, values.Device);
        Tensor vd = Dense(values), id = Dense(indices);
        if (!values.Device.IsCpu) DeviceOps.For(values).IndexScatterAdd2d(vd, id, y);
        else if (values.DType == DType.Float32)
            MaxPoolKernels.ScatterAdd(vd.HostArray<float>(), vd.Offset, id.HostArray<long>(), id.Offset, y.HostArray<float>(), planes, srcPlane, height * width);
        else
            MaxPoolKernels.ScatterAdd(vd.HostArray<double>(), vd.Offset, id.HostArray<long>(), id.Offset, y.HostArray<double>(), planes, srcPlane, height * width);
        if (Autograd.Autograd.IsRecording(values)) Autograd.Autograd.Record(y, new IndexScatterBackward(op, values, indices));
        return y;
    }

    private static void CheckIndexOperands(string op, Tensor values, Tensor indices, int height, int width)
    {
        CheckFloat(op, values);
        CheckRank(op, values, 4, "B,C,P,Q");
        if (indices.Rank != 4 || !ShapeUtil.Same(indices.Shape, values.Shape))
            throw new ArgumentException($"{op}: indices {indices.Describe()} must have the shape of the values {values.Describe()}.");
        CheckIndices(op, indices, values, height, width);
    }

    private static void CheckIndices(string op, Tensor indices, Tensor values, int height, int width)
    {
        DeviceOps.CheckSameDevice(op, values, indices);
        if (indices.DType != DType.Int64)
            throw new ArgumentException($"{op}: indices must be Int64 (as max_pool2d with indices returns them), got {indices.Describe()}.");
        if (height < 1 || width < 1)
            throw new ArgumentOutOfRangeException(nameof(height), $"{op}: planes must be at least 1x1, got {height}x{width}.");
        if (!indices.Device.IsCpu) return;
        long limit = (long)height * width;
        var id = Dense(indices).Span<long>();
        for (int i = 0; i < id.Length; i++)
            if ((ulong)id[i] >= (ulong)limit)
                throw new ArgumentException($"{op}: index {id[i]} at flat position {i} of {indices.Describe()} is outside a {height}x{width} plane (expected 0..{limit - 1}).");
    }

    private sealed class MaxPoolBackward(Tensor x, Tensor indices) : Node("max_pool2d", x)
    {
        private Tensor? _indices = indices;
        private readonly int _h = x.Shape[2], _w = x.Shape[3];

        public override Tensor?[] Backward(Tensor gy) => [IndexScatterAdd2d(gy, _indices!, _h, _w, "max_pool2d_backward")];

        protected override void ReleaseSaved() => _indices = null;
    }

    private sealed class IndexScatterBackward(string op, Tensor values, Tensor indices) : Node(op, values)
    {
        private Tensor? _indices = indices;

        public override Tensor?[] Backward(Tensor gy) => [IndexGather2d(gy, _indices!)];

        protected override void ReleaseSaved() => _indices = null;
    }

    private sealed class IndexGatherBackward(Tensor x, Tensor indices) : Node("index_gather2d", x)
    {
        private Tensor? _indices = indices;
        private readonly int _h = x.Shape[2], _w = x.Shape[3];

        public override Tensor?[] Backward(Tensor gy) => [IndexScatterAdd2d(gy, _indices!, _h, _w, "index_gather2d_backward")];

        protected override void ReleaseSaved() => _indices = null;
    }
}
