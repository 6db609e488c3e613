using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>2-D convolution (cross-correlation): x [B,C,H,W], weight [K,C,R,S], bias [K] → [B,K,P,Q].</summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, int stride = 1, int padding = 0, int dilation = 1)
    {
        const string op = "conv2d";
        CheckConvOperands(op, x, "x", "B,C,H,W", weight, "weight", "K,C,R,S");
        if (weight.Shape[1] != x.Shape[1])
            throw new ArgumentException($"{op}: weight [K,C,R,S] {weight.Describe()} expects {weight.Shape[1]} input channels but x [B,C,H,W] {x.Describe()} has {x.Shape[1]}.");
        if (bias != null)
        {
            CheckPair(op, x, bias);
            if (bias.Rank != 1 || bias.Shape[0] != weight.Shape[0])
                throw new ArgumentException($"{op}: bias must be [K] = [{weight.Shape[0]}] for weight {weight.Describe()}, got {bias.Describe()}.");
        }
        var g = Conv2dGeometry.Create(op, x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], weight.Shape[0], weight.Shape[2], weight.Shape[3],
            stride, padding, dilation, "x", x, "weight", weight);
        var y = Tensor.NewOutput([g.B, g.K, g.P, g.Q], x.DType, x.Device);
        Tensor xd = Dense(x), wd = Dense(weight);
        Tensor? bd = bias == null ? null : Dense(bias);
        if (!x.Device.IsCpu) DeviceOps.For(x).Conv2dForward(xd, wd, bd, y, g);
        else if (x.DType == DType.Float32)
            Conv2dKernels.Forward(g, xd.HostArray<float>(), xd.Offset, wd.HostArray<float>(), wd.Offset, bd?.HostArray<float>(), bd?.Offset ?? 0, y.HostArray<float>(), 0);
        else
            Conv2dKernels.Forward(g, xd.HostArray<double>(), xd.Offset, wd.HostArray<double>(), wd.Offset, bd?.HostArray<double>(), bd?.Offset ?? 0, y.HostArray<double>(), 0);
        if (Autograd.Autograd.IsRecording(x, weight, bias)) Autograd.Autograd.Record(y, new Conv2dBackward(x, weight, bias, g));
        return y;
    }

    /// <summary>
    /// Gradient of <see cref="Conv2d"/> with respect to its input (the transposed convolution): gradOutput [B,K,P,Q] and
    /// weight [K,C,R,S] → [B,C,H,W] for an input of <paramref name="inputHeight"/>×<paramref name="inputWidth"/>. Differentiable.
    /// </summary>
    public static Tensor Conv2dInputGrad(Tensor gradOutput, Tensor weight, int inputHeight, int inputWidth, int stride = 1, int padding = 0, int dilation = 1)
    {
        const string op = "conv2d_input_grad";
        CheckConvOperands(op, gradOutput, "gradOutput", "B,K,P,Q", weight, "weight", "K,C,R,S");
        if (weight.Shape[0] != gradOutput.Shape[1])
            throw new ArgumentException($"{op}: weight [K,C,R,S] {weight.Describe()} has {weight.Shape[0]} output channels but gradOutput [B,K,P,Q] {gradOutput.Describe()} has {gradOutput.Shape[1]}.");
        var g = Conv2dGeometry.Create(op, gradOutput.Shape[0], weight.Shape[1], inputHeight, inputWidth, weight.Shape[0], weight.Shape[2], weight.Shape[3],
            stride, padding, dilation, "gradOutput", gradOutput, "weight", weight);
        CheckOutputSize(op, g, gradOutput);
        var gx = Tensor.NewOutput([g.B, g.C, g.H, g.W], gradOutput.DType, gradOutput.Device);
        Tensor gyd = Dense(gradOutput), wd = Dense(weight);
        if (!gradOutput.Device.IsCpu) DeviceOps.For(gradOutput).Conv2dBackwardData(gyd, wd, gx, g);
        else if (gradOutput.DType == DType.Float32)
            Conv2dKernels.BackwardData(g, gyd.HostArray<float>(), gyd.Offset, wd.HostArray<float>(), wd.Offset, gx.HostArray<float>(), 0);
        else
            Conv2dKernels.BackwardData(g, gyd.HostArray<double>(), gyd.Offset, wd.HostArray<double>(), wd.Offset, gx.HostArray<double>(), 0);
        if (Autograd.Autograd.IsRecording(gradOutput, weight)) Autograd.Autograd.Record(gx, new Conv2dInputGradBackward(gradOutput, weight, g));
        return gx;
    }

    /// <summary>
    /// Gradient of <see cref="Conv2d"/> with respect to its weight: x [B,C,H,W] and gradOutput [B,K,P,Q] → [K,C,R,S] for a
    /// <paramref name="kernelHeight"/>×<paramref name="kernelWidth"/> kernel. Differentiable.
    /// </summary>
    public static Tensor Conv2dWeightGrad(Tensor x, Tensor gradOutput, int kernelHeight, int kernelWidth, int stride = 1, int padding = 0, int dilation = 1)
    {
        const string op = "conv2d_weight_grad";
        CheckConvOperands(op, x, "x", "B,C,H,W", gradOutput, "gradOutput", "B,K,P,Q");
        if (x.Shape[0] != gradOutput.Shape[0])
            throw new ArgumentException($"{op}: x [B,C,H,W] {x.Describe()} and gradOutput [B,K,P,Q] {gradOutput.Describe()} have different batch sizes.");
        if (kernelHeight < 1 || kernelWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(kernelHeight), $"{op}: kernel must be at least 1x1, got {kernelHeight}x{kernelWidth}.");
        var g = Conv2dGeometry.Create(op, x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], gradOutput.Shape[1], kernelHeight, kernelWidth,
            stride, padding, dilation, "x", x, "gradOutput", gradOutput);
        CheckOutputSize(op, g, gradOutput);
        var gw = Tensor.NewOutput([g.K, g.C, g.R, g.S], x.DType, x.Device);
        Tensor xd = Dense(x), gyd = Dense(gradOutput);
        if (!x.Device.IsCpu) DeviceOps.For(x).Conv2dBackwardWeight(xd, gyd, gw, g);
        else if (x.DType == DType.Float32)
            Conv2dKernels.BackwardWeight(g, xd.HostArray<float>(), xd.Offset, gyd.HostArray<float>(), gyd.Offset, gw.HostArray<float>(), 0);
        else
            Conv2dKernels.BackwardWeight(g, xd.HostArray<double>(), xd.Offset, gyd.HostArray<double>(), gyd.Offset, gw.HostArray<double>(), 0);
        if (Autograd.Autograd.IsRecording(x, gradOutput)) Autograd.Autograd.Record(gw, new Conv2dWeightGradBackward(x, gradOutput, g));
        return gw;
    }

    private static void CheckConvOperands(string op, Tensor a, string aName, string aLayout, Tensor b, string bName, string bLayout)
    {
        CheckFloat(op, a);
        if (a.Rank != 4) throw new ArgumentException($"{op}: expected {aName} of rank 4 [{aLayout}], got {a.Describe()}.");
        if (b.Rank != 4) throw new ArgumentException($"{op}: expected {bName} of rank 4 [{bLayout}], got {b.Describe()}.");
        CheckPair(op, a, b);
    }

    private static void CheckOutputSize(string op, in Conv2dGeometry g, Tensor gradOutput)
    {
        if (gradOutput.Shape[2] != g.P || gradOutput.Shape[3] != g.Q)
            throw new ArgumentException($"{op}: an input of {g.H}x{g.W} with a {g.R}x{g.S} kernel, stride {g.Stride}, padding {g.Padding} and dilation {g.Dilation} " +
                                        $"gives a {g.P}x{g.Q} output, but gradOutput is {gradOutput.Describe()}.");
    }

    // The dims a per-channel (bias) gradient sums over in NCHW; shared because Sum only reads it, so backward allocates no array.
    private static readonly int[] BatchAndSpatialDims = [0, 2, 3];

    // y = conv(x, w) + b is bilinear in (x, w): each gradient is one of the two companion ops, themselves differentiable.
    private sealed class Conv2dBackward(Tensor x, Tensor weight, Tensor? bias, Conv2dGeometry g) : Node("conv2d", x, weight, bias)
    {
        private Tensor? _x = weight.RequiresGrad ? x : null;
        private Tensor? _w = x.RequiresGrad ? weight : null;

        public override Tensor?[] Backward(Tensor gy) =>
        [
            NeedsGrad(0) ? Conv2dInputGrad(gy, _w!, g.H, g.W, g.Stride, g.Padding, g.Dilation) : null,
            NeedsGrad(1) ? Conv2dWeightGrad(_x!, gy, g.R, g.S, g.Stride, g.Padding, g.Dilation) : null,
            NeedsGrad(2) ? Sum(gy, BatchAndSpatialDims) : null,
        ];

        protected override void ReleaseSaved() { _x = null; _w = null; }
    }

    // gx = Dᵀ(gy; w): <ggx, Dᵀ(gy; w)> = <conv(ggx; w), gy> = <w, weight_grad(ggx, gy)>.
    private sealed class Conv2dInputGradBackward(Tensor gy, Tensor weight, Conv2dGeometry g) : Node("conv2d_input_grad", gy, weight)
    {
        private Tensor? _gy = weight.RequiresGrad ? gy : null;
        private Tensor? _w = gy.RequiresGrad ? weight : null;

        public override Tensor?[] Backward(Tensor ggx) =>
        [
            NeedsGrad(0) ? Conv2d(ggx, _w!, null, g.Stride, g.Padding, g.Dilation) : null,
            NeedsGrad(1) ? Conv2dWeightGrad(ggx, _gy!, g.R, g.S, g.Stride, g.Padding, g.Dilation) : null,
        ];

        protected override void ReleaseSaved() { _gy = null; _w = null; }
    }

    // gw = W(x, gy): <ggw, W(x, gy)> = <conv(x; ggw), gy> = <x, Dᵀ(gy; ggw)>.
    private sealed class Conv2dWeightGradBackward(Tensor x, Tensor gy, Conv2dGeometry g) : Node("conv2d_weight_grad", x, gy)
    {
        private Tensor? _x = gy.RequiresGrad ? x : null;
        private Tensor? _gy = x.RequiresGrad ? gy : null;

        public override Tensor?[] Backward(Tensor ggw) =>
        [
            NeedsGrad(0) ? Conv2dInputGrad(_gy!, ggw, g.H, g.W, g.Stride, g.Padding, g.Dilation) : null,
            NeedsGrad(1) ? Conv2d(_x!, ggw, null, g.Stride, g.Padding, g.Dilation) : null,
        ];

        protected override void ReleaseSaved() { _x = null; _gy = null; }
    }
}
