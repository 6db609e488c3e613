using System.Runtime.InteropServices;

namespace Astmt.Models.Data.Npy;

/// <summary>
/// The contents of one .npy file: C-order elements kept as raw little-endian bytes in their on-disk type, with typed
/// conversions. Converting on demand avoids a second copy when the caller only needs one type.
/// </summary>
public sealed class NpyArray
{
    private readonly byte[] _bytes;

    /// <summary>Wraps raw element bytes (C order, little-endian).</summary>
    public NpyArray(NpyDType dtype, int[] shape, byte[] bytes, string source = "<memory>")
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n * dtype.Size() != bytes.Length)
            throw new NpyFormatException(source, $"{bytes.Length} data bytes do not match shape ({string.Join(", ", shape)}) of {dtype}.");
        DType = dtype;
        Shape = shape;
        Count = (int)n;
        Source = source;
        _bytes = bytes;
    }

    /// <summary>Element type on disk.</summary>
    public NpyDType DType { get; }

    /// <summary>Dimensions in C order.</summary>
    public int[] Shape { get; }

    /// <summary>Number of elements.</summary>
    public int Count { get; }

    /// <summary>The file the array came from, for messages.</summary>
    public string Source { get; }

    /// <summary>The raw bytes (little-endian, C order).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>Converts every element to float32 into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination)
    {
        CheckLength(destination.Length);
        switch (DType)
        {
            case NpyDType.Float32: MemoryMarshal.Cast<byte, float>(_bytes).CopyTo(destination); break;
            case NpyDType.Float64: { var s = MemoryMarshal.Cast<byte, double>(_bytes); for (int i = 0; i < s.Length; i++) destination[i] = (float)s[i]; break; }
            case NpyDType.Int32: { var s = MemoryMarshal.Cast<byte, int>(_bytes); for (int i = 0; i < s.Length; i++) destination[i] = s[i]; break; }
            default: { var s = MemoryMarshal.Cast<byte, long>(_bytes); for (int i = 0; i < s.Length; i++) destination[i] = s[i]; break; }
        }
    }

    /// <summary>Converts every element to float64 into <paramref name="destination"/>.</summary>
    public void CopyTo(Span<double> destination)
    {
        CheckLength(destination.Length);
        switch (DType)
        {
            case NpyDType.Float32: { var s = MemoryMarshal.Cast<byte, float>(_bytes); for (int i = 0; i < s.Length; i++) destination[i] = s[i]; break; }
            case NpyDType.Float64: MemoryMarshal.Cast<byte, double>(_bytes).CopyTo(destination); break;
            case NpyDType.Int32: { var s = MemoryMarshal.Cast<byte, int>(_bytes); for (int i = 0; i < s.Length; i++) destination[i] = s[i]; break; }
            default: { var s = MemoryMarshal.Cast<byte, long>(_bytes); for (int i = 0; i < s.Length; i++) destination[i] = s[i]; break; }
        }
    }

    /// <summary>
    /// Converts every element to int64 into <paramref name="destination"/>. Floating values are truncated toward zero, as
    /// PyTorch's <c>.long()</c> does for label maps stored as float; NaN or out-of-range values fail with the file name.
    /// </summary>
    public void CopyTo(Span<long> destination)
    {
        CheckLength(destination.Length);
        switch (DType)
        {
            case NpyDType.Float32: { var s = MemoryMarshal.Cast<byte, float>(_bytes); for (int i = 0; i < s.Length; i++) destination[i] = ToLabel(s[i], i); break; }
            case NpyDType.Float64: { var s = MemoryMarshal.Cast<byte, double>(_bytes); for (int i = 0; i < s.Length; i++) destination[i] = ToLabel(s[i], i); break; }
            case NpyDType.Int32: { var s = MemoryMarshal.Cast<byte, int>(_bytes); for (int i = 0; i < s.Length; i++) destination[i] = s[i]; break; }
            default: MemoryMarshal.Cast<byte, long>(_bytes).CopyTo(destination); break;
        }
    }

    /// <summary>All elements as float32.</summary>
    public float[] ToFloat32() { var a = new float[Count]; CopyTo(a.AsSpan()); return a; }

    /// <summary>All elements as float64.</summary>
    public double[] ToFloat64() { var a = new double[Count]; CopyTo(a.AsSpan()); return a; }

    /// <summary>All elements as int64 (see <see cref="CopyTo(Span{long})"/>).</summary>
    public long[] ToInt64() { var a = new long[Count]; CopyTo(a.AsSpan()); return a; }

    /// <summary>Creates an array from float32 values.</summary>
    public static NpyArray FromFloat32(ReadOnlySpan<float> data, params int[] shape) => new(NpyDType.Float32, shape, MemoryMarshal.AsBytes(data).ToArray());

    /// <summary>Creates an array from float64 values.</summary>
    public static NpyArray FromFloat64(ReadOnlySpan<double> data, params int[] shape) => new(NpyDType.Float64, shape, MemoryMarshal.AsBytes(data).ToArray());

    /// <summary>Creates an array from int32 values.</summary>
    public static NpyArray FromInt32(ReadOnlySpan<int> data, params int[] shape) => new(NpyDType.Int32, shape, MemoryMarshal.AsBytes(data).ToArray());

    /// <summary>Creates an array from int64 values.</summary>
    public static NpyArray FromInt64(ReadOnlySpan<long> data, params int[] shape) => new(NpyDType.Int64, shape, MemoryMarshal.AsBytes(data).ToArray());

    private void CheckLength(int length)
    {
        if (length != Count)
            throw new ArgumentException($"{Source}: destination holds {length} elements but the array ({string.Join(", ", Shape)}) has {Count}.");
    }

    private long ToLabel(double v, int index)
    {
        if (double.IsNaN(v) || v < long.MinValue || v > long.MaxValue)
            throw new NpyFormatException(Source, $"element {index} is {v}, which is not a valid integer label.");
        return (long)v;
    }
}
