namespace Astmt.Engine.IO;

/// <summary>The safetensors dtype names this engine reads, their element sizes, and the tensor dtype each is loaded as.</summary>
internal static class SafeTensorsDType
{
    /// <summary>The names accepted when reading, for error messages.</summary>
    public const string Known = "F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL";

    /// <summary>The file name of a tensor dtype.</summary>
    public static string Name(DType dtype) => dtype switch
    {
        DType.Float32 => "F32",
        DType.Float64 => "F64",
        DType.Int64 => "I64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), $"safetensors: no file dtype for {dtype}."),
    };

    /// <summary>Bytes per element of a file dtype and the dtype it loads as (half floats widen to Float32, integers and
    /// booleans to Int64, since the engine computes in those); false for names it does not know.</summary>
    public static bool TryParse(string name, out int elementBytes, out DType loadsAs)
    {
        (elementBytes, loadsAs) = name switch
        {
            "F64" => (8, DType.Float64),
            "F32" => (4, DType.Float32),
            "F16" => (2, DType.Float32),
            "BF16" => (2, DType.Float32),
            "I64" => (8, DType.Int64),
            "I32" => (4, DType.Int64),
            "I16" => (2, DType.Int64),
            "I8" => (1, DType.Int64),
            "U8" => (1, DType.Int64),
            "BOOL" => (1, DType.Int64),
            _ => (0, DType.Float32),
        };
        return elementBytes > 0;
    }
}
