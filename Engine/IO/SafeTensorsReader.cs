using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Astmt.Engine.IO;

/// <summary>Opens safetensors files (header only) and reads single tensors on demand, converting the file dtype to the engine's.</summary>
internal static class SafeTensorsReader
{
    public static SafeTensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors '{path}': no such file.", path);
        using var stream = OpenRead(path);
        long fileLength = stream.Length;
        if (fileLength < 8)
            throw SafeTensorsHeader.Corrupt(path, $"the file has {fileLength} bytes; expected at least the 8-byte header length (truncated file?)");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw SafeTensorsHeader.Corrupt(path, $"the header length {headerLength} reaches beyond the file ({fileLength} bytes, so at most {fileLength - 8}); truncated file or not a safetensors file?");
        if (headerLength > SafeTensors.MaxHeaderBytes)
            throw SafeTensorsHeader.Corrupt(path, $"the header length {headerLength} exceeds the {SafeTensors.MaxHeaderBytes}-byte limit");
        var header = new byte[(int)headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + (long)headerLength;
        var parsed = SafeTensorsHeader.Parse(path, header, fileLength - dataStart);
        return new SafeTensorsFile(path, parsed.Metadata, parsed.Keys, parsed.Infos, dataStart);
    }

    /// <summary>Reads one tensor from an open <paramref name="stream"/> on file <paramref name="path"/>.</summary>
    public static Tensor Read(string path, FileStream stream, SafeTensorInfo info, long dataStart)
    {
        var t = Tensor.Empty(info.Shape, info.DType);
        try
        {
            if (info.ByteLength == 0) return t;
            if (stream.Length < dataStart + info.End)
                throw SafeTensorsHeader.Corrupt(path, $"tensor '{info.Name}' needs bytes up to {dataStart + info.End} but the file now has {stream.Length} (truncated since it was opened?)");
            stream.Position = dataStart + info.Begin;
            switch (info.FileDType)
            {
                case "F32": ReadRaw(stream, t.Span<float>()); break;
                case "F64": ReadRaw(stream, t.Span<double>()); break;
                case "I64": ReadRaw(stream, t.Span<long>()); break;
                default: ReadConverted(path, stream, info, t); break;
            }
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>An unbuffered read stream: tensors are read straight into their storage.</summary>
    public static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.RandomAccess);

    private static void ReadRaw<T>(Stream stream, Span<T> dst) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors: reading needs a little-endian host.");
        stream.ReadExactly(MemoryMarshal.AsBytes(dst));
    }

    /// <summary>Reads a narrower or integer file dtype in blocks through a pooled buffer and widens it.</summary>
    private static void ReadConverted(string path, Stream stream, SafeTensorInfo info, Tensor t)
    {
        SafeTensorsDType.TryParse(info.FileDType, out int size, out _);
        const int blockElements = 1 << 16;
        var buffer = ArrayPool<byte>.Shared.Rent(blockElements * size);
        try
        {
            int n = t.Numel;
            for (int start = 0; start < n; start += blockElements)
            {
                int count = Math.Min(blockElements, n - start);
                var bytes = buffer.AsSpan(0, count * size);
                stream.ReadExactly(bytes);
                if (t.DType == DType.Float32) WidenFloat(info.FileDType, bytes, t.Span<float>().Slice(start, count));
                else WidenInteger(path, info, bytes, t.Span<long>().Slice(start, count), start);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void WidenFloat(string fileDType, ReadOnlySpan<byte> bytes, Span<float> dst)
    {
        if (fileDType == "F16")
        {
            for (int i = 0; i < dst.Length; i++)
                dst[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(2 * i)));
        }
        else
        {
            // bfloat16 is the top half of a float32.
            for (int i = 0; i < dst.Length; i++)
                dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(2 * i)) << 16);
        }
    }

    private static void WidenInteger(string path, SafeTensorInfo info, ReadOnlySpan<byte> bytes, Span<long> dst, int firstIndex)
    {
        switch (info.FileDType)
        {
            case "I32": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt32LittleEndian(bytes.Slice(4 * i)); break;
            case "I16": for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt16LittleEndian(bytes.Slice(2 * i)); break;
            case "I8": for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)bytes[i]; break;
            case "U8": for (int i = 0; i < dst.Length; i++) dst[i] = bytes[i]; break;
            case "BOOL":
                for (int i = 0; i < dst.Length; i++)
                {
                    if (bytes[i] > 1)
                        throw SafeTensorsHeader.Corrupt(path, $"tensor '{info.Name}' is BOOL but element {firstIndex + i} holds byte {bytes[i]}; expected 0 or 1");
                    dst[i] = bytes[i];
                }
                break;
            default: throw new InvalidOperationException($"safetensors: no integer conversion for {info.FileDType}.");
        }
    }
}
