using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Astmt.Models.Data.Npy;

/// <summary>
/// Writes NumPy .npy files in C order. Version 1.0 headers are written unless the header does not fit in 65535 bytes,
/// in which case version 2.0 is used, as numpy does. The header is padded so the data starts at a multiple of 64 bytes.
/// </summary>
public static class NpyWriter
{
    /// <summary>Writes an array to <paramref name="path"/> (creating its directory).</summary>
    public static void Write(string path, NpyArray array, int? forceMajorVersion = null)
    {
        var dir = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        Write(fs, array, forceMajorVersion);
    }

    /// <summary>Writes float32 values with the given shape.</summary>
    public static void Write(string path, ReadOnlySpan<float> data, params int[] shape) => Write(path, NpyArray.FromFloat32(data, shape));

    /// <summary>Writes int64 values with the given shape.</summary>
    public static void Write(string path, ReadOnlySpan<long> data, params int[] shape) => Write(path, NpyArray.FromInt64(data, shape));

    /// <summary>Writes an array to a stream. <paramref name="forceMajorVersion"/> (1 or 2) overrides the automatic choice.</summary>
    public static void Write(Stream stream, NpyArray array, int? forceMajorVersion = null)
    {
        string shape = array.Shape.Length switch
        {
            0 => "()",
            1 => $"({array.Shape[0].ToString(CultureInfo.InvariantCulture)},)",
            _ => "(" + string.Join(", ", array.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        string dict = $"{{'descr': '{array.DType.Descr()}', 'fortran_order': False, 'shape': {shape}, }}";
        int major = forceMajorVersion ?? (dict.Length + 11 > ushort.MaxValue ? 2 : 1);
        if (major is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(forceMajorVersion), $"NPY version must be 1 or 2, got {major}.");
        int prefix = 6 + 2 + (major == 1 ? 2 : 4);
        int total = prefix + dict.Length + 1;
        int padded = (total + 63) / 64 * 64;
        string header = dict + new string(' ', padded - total) + "\n";
        if (major == 1 && header.Length > ushort.MaxValue)
            throw new ArgumentException($"NPY header of {header.Length} bytes does not fit a version 1.0 file.");

        Span<byte> head = stackalloc byte[prefix];
        head[0] = 0x93; "NUMPY"u8.CopyTo(head[1..]);
        head[6] = (byte)major; head[7] = 0;
        if (major == 1) BinaryPrimitives.WriteUInt16LittleEndian(head[8..], (ushort)header.Length);
        else BinaryPrimitives.WriteUInt32LittleEndian(head[8..], (uint)header.Length);
        stream.Write(head);
        stream.Write(Encoding.Latin1.GetBytes(header));
        stream.Write(array.Bytes);
    }
}
