using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

/// <summary>Interpolation used by <see cref="F.Interpolate(Tensor, int, int, ResizeMode, bool)"/>.</summary>
public enum ResizeMode
{
    /// <summary>PyTorch's 'nearest': source index floor(dst · in/out).</summary>
    Nearest,
    /// <summary>Bilinear, with or without align_corners.</summary>
    Bilinear,
}

public static partial class F
{
    /// <summary>Resizes [B,C,H,W] to [B,C,outH,outW].</summary>
    public static Tensor Interpolate(Tensor x, int outputHeight, int outputWidth, ResizeMode mode, bool alignCorners = false)
    {
        CheckFloat("interpolate", x);
        return Resize(x, ResizeGeometry.Create("interpolate", x.Shape, outputHeight, outputWidth, mode, alignCorners, null, null));
    }

    /// <summary>Resizes by a scale factor (output size floor(in·scale)); with bilinear, align_corners false uses 1/scale as the source step, as PyTorch.</summary>
    public static Tensor Interpolate(Tensor x, double scale, ResizeMode mode, bool alignCorners = false)
    {
        CheckFloat("interpolate", x);
        CheckRank("interpolate", x, 4, "B,C,H,W");
        if (!(scale > 0) || double.IsInfinity(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), $"interpolate: scale factor must be positive and finite, got {scale} for {x.Describe()}.");
        int outH = (int)Math.Floor(x.Shape[2] * scale), outW = (int)Math.Floor(x.Shape[3] * scale);
        return Resize(x, ResizeGeometry.Create("interpolate", x.Shape, outH, outW, mode, alignCorners, scale, scale));
    }

    /// <summary>Resizes x [B,C,InH,InW] as <paramref name="geometry"/> says (differentiable).</summary>
    public static Tensor Resize(Tensor x, ResizeGeometry geometry)
    {
        var g = geometry;
        CheckFloat("interpolate", x);
        if (!ShapeUtil.Same(x.Shape, [g.B, g.C, g.InH, g.InW]))
            throw new ArgumentException($"interpolate: geometry expects input [{g.B}x{g.C}x{g.InH}x{g.InW}], got {x.Describe()}.");
        var y = Tensor.NewOutput([g.B, g.C, g.OutH, g.OutW], x.DType, x.Device);
        var xd = Dense(x);
        if (!x.Device.IsCpu) DeviceOps.For(x).ResizeForward(xd, y, g);
        else if (x.DType == DType.Float32) ResizeKernels.Forward(g, xd.HostArray<float>(), xd.Offset, y.HostArray<float>());
        else ResizeKernels.Forward(g, xd.HostArray<double>(), xd.Offset, y.HostArray<double>());
        if (Autograd.Autograd.IsRecording(x)) Autograd.Autograd.Record(y, new ResizeBackward(x, g));
        return y;
    }

    /// <summary>The gradient of <see cref="Resize"/>: gradOutput [B,C,OutH,OutW] → [B,C,InH,InW] (the transposed resize; differentiable).</summary>
    public static Tensor ResizeGrad(Tensor gradOutput, ResizeGeometry geometry)
    {
        var g = geometry;
        CheckFloat("interpolate_grad", gradOutput);
        if (!ShapeUtil.Same(gradOutput.Shape, [g.B, g.C, g.OutH, g.OutW]))
            throw new ArgumentException($"interpolate_grad: geometry expects gradOutput [{g.B}x{g.C}x{g.OutH}x{g.OutW}], got {gradOutput.Describe()}.");
        var gx = Tensor.NewOutput([g.B, g.C, g.InH, g.InW], gradOutput.DType, gradOutput.Device);
        var gyd = Dense(gradOutput);
        if (!gradOutput.Device.IsCpu) DeviceOps.For(gradOutput).ResizeBackward(gyd, gx, g);
        else if (gradOutput.DType == DType.Float32) ResizeKernels.Backward(g, gyd.HostArray<float>(), gyd.Offset, gx.HostArray<float>());
        else ResizeKernels.Backward(g, gyd.HostArray<double>(), gyd.Offset, gx.HostArray<double>());
        if (Autograd.Autograd.IsRecording(gradOutput)) Autograd.Autograd.Record(gx, new ResizeGradBackward(gradOutput, g));
        return gx;
    }

    /// <summary>Global average pooling: [B,C,H,W] → [B,C,1,1].</summary>
    public static Tensor GlobalAvgPool2d(Tensor x) => Mean(x, [2, 3], keepDim: true);

    // Resize is linear, so its gradient is the transposed resize and the gradient of that is the resize again.
    private sealed class ResizeBackward(Tensor x, ResizeGeometry g) : Node("interpolate", x)
    {
        public override Tensor?[] Backward(Tensor gy) => [ResizeGrad(gy, g)];
    }

    private sealed class ResizeGradBackward(Tensor gy, ResizeGeometry g) : Node("interpolate_grad", gy)
    {
        public override Tensor?[] Backward(Tensor ggx) => [Resize(ggx, g)];
    }
}
