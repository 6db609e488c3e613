namespace Astmt.Engine.Autograd;

/// <summary>In-place accumulation of a gradient into a leaf's persistent <see cref="Tensor.Grad"/> buffer.</summary>
internal static class GradAccumulation
{
    public static void AddInPlace(Tensor dst, Tensor src)
    {
        if (!ShapeUtil.Same(dst.Shape, src.Shape) || dst.DType != src.DType)
            throw new InvalidOperationException($"Gradient accumulation: {src.Describe()} cannot be added to {dst.Describe()}.");
        if (!dst.Device.IsCpu)
        {
            Ops.DeviceOps.For(dst).AddInPlace(dst, src);
            return;
        }
        var s = src.IsContiguous ? src : src.ContiguousCopy();
        if (dst.DType == DType.Float32) Cpu.VectorMath.AddInPlace(dst.Span<float>(), s.Span<float>());
        else Cpu.VectorMath.AddInPlace(dst.Span<double>(), s.Span<double>());
    }
}
