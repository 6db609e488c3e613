namespace Astmt.Engine;

/// <summary>Element type of a tensor. Float32 is the working type; Float64 exists on the CPU for references and gradient checks;
/// Int64 holds labels, pooling indices and counters (PyTorch's <c>long</c>).</summary>
public enum DType
{
    /// <summary>32-bit IEEE float.</summary>
    Float32,
    /// <summary>64-bit IEEE float (CPU only).</summary>
    Float64,
    /// <summary>64-bit signed integer.</summary>
    Int64,
}

/// <summary>Helpers over <see cref="DType"/>.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this DType dtype) => dtype switch
    {
        DType.Float32 => 4,
        DType.Float64 => 8,
        DType.Int64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The dtype that stores elements of the CLR type <typeparamref name="T"/>.</summary>
    public static DType Of<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return DType.Float32;
        if (typeof(T) == typeof(double)) return DType.Float64;
        if (typeof(T) == typeof(long)) return DType.Int64;
        throw new NotSupportedException($"No tensor dtype stores {typeof(T).Name}; expected float, double or long.");
    }

    /// <summary>True for the floating-point dtypes.</summary>
    public static bool IsFloating(this DType dtype) => dtype is DType.Float32 or DType.Float64;
}
