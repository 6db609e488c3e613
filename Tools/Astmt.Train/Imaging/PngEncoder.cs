using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Astmt.Train.Imaging;

/// <summary>
/// A small PNG writer: 8-bit RGB, no interlacing, one IDAT chunk. The zlib framing (header and Adler-32) and the chunk
/// CRC-32 are written here; only the deflate compression itself comes from <see cref="DeflateStream"/>.
/// </summary>
public static class PngEncoder
{
    /// <summary>The eight bytes every PNG file starts with.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes <paramref name="image"/> as a PNG file.</summary>
    public static byte[] Encode(RgbImage image)
    {
        using var file = new MemoryStream();
        file.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], image.Height);
        header[8] = 8;  // bits per channel
        header[9] = 2;  // colour type: truecolour RGB
        header[10] = 0; // compression: deflate
        header[11] = 0; // filter method 0
        header[12] = 0; // no interlace
        WriteChunk(file, "IHDR", header);
        WriteChunk(file, "IDAT", ZlibCompress(FilteredScanlines(image)));
        WriteChunk(file, "IEND", ReadOnlySpan<byte>.Empty);
        return file.ToArray();
    }

    /// <summary>Wraps <paramref name="data"/> in a zlib stream (RFC 1950): CMF/FLG header, deflate data, big-endian Adler-32.</summary>
    public static byte[] ZlibCompress(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream();
        // CMF 0x78: deflate with a 32 KiB window; FLG 0x9C: default level, no dictionary, and (CMF·256 + FLG) % 31 == 0.
        output.WriteByte(0x78);
        output.WriteByte(0x9C);
        using (var deflate = new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true))
            deflate.Write(data);
        Span<byte> adler = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(adler, Adler32.Compute(data));
        output.Write(adler);
        return output.ToArray();
    }

    // Each scanline gets the "Up" filter (byte minus the byte above), which suits the smooth maps and flat label regions the
    // trainer draws; the first row, with nothing above, is effectively unfiltered.
    private static byte[] FilteredScanlines(RgbImage image)
    {
        int stride = image.Width * 3;
        var raw = new byte[(stride + 1) * image.Height];
        ReadOnlySpan<byte> px = image.Pixels;
        for (int y = 0; y < image.Height; y++)
        {
            int o = y * (stride + 1);
            raw[o] = 2; // filter type Up
            var row = px.Slice(y * stride, stride);
            var dst = raw.AsSpan(o + 1, stride);
            if (y == 0) row.CopyTo(dst);
            else
            {
                var above = px.Slice((y - 1) * stride, stride);
                for (int i = 0; i < stride; i++) dst[i] = (byte)(row[i] - above[i]);
            }
        }
        return raw;
    }

    private static void WriteChunk(Stream file, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        file.Write(word);
        byte[] typeBytes = Encoding.ASCII.GetBytes(type);
        file.Write(typeBytes);
        file.Write(data);
        uint crc = Crc32.Finish(Crc32.Update(Crc32.Update(Crc32.Start, typeBytes), data));
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        file.Write(word);
    }
}
