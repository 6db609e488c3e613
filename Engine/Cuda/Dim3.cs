namespace Astmt.Engine.Cuda;

/// <summary>Launch dimensions (grid or block), as CUDA's dim3.</summary>
public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1)
{
    /// <summary>Number of blocks or threads.</summary>
    public ulong Count => (ulong)X * Y * Z;

    /// <summary>A 1-D dimension.</summary>
    public static implicit operator Dim3(int x) => new((uint)x);

    /// <inheritdoc />
    public override string ToString() => $"{X}x{Y}x{Z}";
}
