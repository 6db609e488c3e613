namespace Astmt.Models.Data.Npy;

/// <summary>Element types the NPY reader and writer support (little-endian on disk).</summary>
public enum NpyDType
{
    /// <summary>'&lt;f4'.</summary>
    Float32,
    /// <summary>'&lt;f8'.</summary>
    Float64,
    /// <summary>'&lt;i4'.</summary>
    Int32,
    /// <summary>'&lt;i8'.</summary>
    Int64,
}

/// <summary>Descriptor strings and element sizes of <see cref="NpyDType"/>.</summary>
public static class NpyDTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this NpyDType t) => t is NpyDType.Float32 or NpyDType.Int32 ? 4 : 8;

    /// <summary>The numpy descr string, e.g. "&lt;f4".</summary>
    public static string Descr(this NpyDType t) => t switch
    {
        NpyDType.Float32 => "<f4",
        NpyDType.Float64 => "<f8",
        NpyDType.Int32 => "<i4",
        _ => "<i8",
    };

    /// <summary>Parses a numpy descr; null when unsupported. '|' and '=' byte orders are accepted on little-endian hosts.</summary>
    public static NpyDType? Parse(string descr)
    {
        if (descr.Length < 3) return null;
        char order = descr[0];
        if (order != '<' && order != '|' && order != '=') return null;
        return descr.Substring(1) switch
        {
            "f4" => NpyDType.Float32,
            "f8" => NpyDType.Float64,
            "i4" => NpyDType.Int32,
            "i8" => NpyDType.Int64,
            _ => null,
        };
    }
}
