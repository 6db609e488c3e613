namespace Astmt.Engine.Ops;

/// <summary>
/// One resize of [B,C,InH,InW] to [B,C,OutH,OutW] with PyTorch's source-index rules. <see cref="StepH"/> and
/// <see cref="StepW"/> are the source steps: (in−1)/(out−1) with align_corners, else 1/scale when a scale factor was given,
/// else in/out.
/// </summary>
public readonly record struct ResizeGeometry(int B, int C, int InH, int InW, int OutH, int OutW, ResizeMode Mode, bool AlignCorners, double StepH, double StepW)
{
    /// <summary>The geometry of resizing <paramref name="shape"/> [B,C,H,W] to <paramref name="outH"/>×<paramref name="outW"/>;
    /// <paramref name="scaleH"/>/<paramref name="scaleW"/> are the user's scale factors when the size came from one.</summary>
    public static ResizeGeometry Create(string op, int[] shape, int outH, int outW, ResizeMode mode, bool alignCorners, double? scaleH, double? scaleW)
    {
        if (shape.Length != 4) throw new ArgumentException($"{op}: expected a rank-4 tensor [B,C,H,W], got {ShapeUtil.Format(shape)}.");
        if (outH < 1 || outW < 1)
            throw new ArgumentException($"{op}: output size must be at least 1x1, got {outH}x{outW} for input {ShapeUtil.Format(shape)}.");
        if (shape[2] < 1 || shape[3] < 1) throw new ArgumentException($"{op}: input planes must be at least 1x1, got {ShapeUtil.Format(shape)}.");
        if (mode == ResizeMode.Nearest && alignCorners)
            throw new ArgumentException($"{op}: align_corners can only be set with bilinear interpolation, not nearest (as PyTorch).");
        return new ResizeGeometry(shape[0], shape[1], shape[2], shape[3], outH, outW, mode, alignCorners,
            Step(shape[2], outH, alignCorners, scaleH), Step(shape[3], outW, alignCorners, scaleW));
    }

    // PyTorch's area_pixel_compute_scale.
    private static double Step(int input, int output, bool alignCorners, double? scale)
    {
        if (alignCorners) return output > 1 ? (input - 1) / (double)(output - 1) : 0;
        return scale is > 0 ? 1.0 / scale.Value : input / (double)output;
    }

    /// <summary>Source taps of output index <paramref name="dst"/> along one axis: the two input indices and their weights
    /// (nearest: one index, weights 1 and 0).</summary>
    internal static (int I0, int I1, double L0, double L1) Taps(int dst, int input, int output, ResizeMode mode, bool alignCorners, double step)
    {
        if (mode == ResizeMode.Nearest)
        {
            // PyTorch 1.13's nearest_idx, including its float32 arithmetic (so boundaries round the same way).
            int i;
            if (output == input) i = dst;
            else if (output == 2 * input) i = dst >> 1;
            else i = Math.Min((int)MathF.Floor(dst * (float)step), input - 1);
            return (i, i, 1, 0);
        }
        double src = alignCorners ? step * dst : Math.Max(step * (dst + 0.5) - 0.5, 0);
        int i0 = Math.Min((int)src, input - 1);
        int i1 = i0 < input - 1 ? i0 + 1 : i0;
        double l1 = src - i0;
        return (i0, i1, 1 - l1, l1);
    }
}
