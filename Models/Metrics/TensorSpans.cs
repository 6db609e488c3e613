using Astmt.Engine;

namespace Astmt.Models.Metrics;

/// <summary>Host element access for metric inputs, with a clear error when a tensor has the wrong type or shape.</summary>
internal static class TensorSpans
{
    public static ReadOnlySpan<float> Floats(Tensor t, string what)
    {
        if (t.DType != DType.Float32) throw new ArgumentException($"{what}: expected a float32 tensor, got {t.Describe()}.");
        return t.Device.IsCpu && t.IsContiguous ? t.Span<float>() : t.ToArray<float>();
    }

    public static ReadOnlySpan<long> Longs(Tensor t, string what)
    {
        if (t.DType != DType.Int64) throw new ArgumentException($"{what}: expected an int64 tensor, got {t.Describe()}.");
        return t.Device.IsCpu && t.IsContiguous ? t.Span<long>() : t.ToArray<long>();
    }

    public static void Expect(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }
}
