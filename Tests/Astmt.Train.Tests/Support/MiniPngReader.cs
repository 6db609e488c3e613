using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Astmt.Train.Tests.Support;

/// <summary>
/// An independent PNG reader for the tests: parses chunks, checks every chunk CRC with a bit-by-bit CRC-32 (not the
/// encoder's table), inflates IDAT with the framework's <see cref="ZLibStream"/> (which verifies the zlib header and
/// Adler-32), and undoes all five PNG filter types. 8-bit RGB only.
/// </summary>
public static class MiniPngReader
{
    public static (int Width, int Height, byte[] Rgb) Decode(byte[] file)
    {
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (!file.AsSpan(0, 8).SequenceEqual(signature)) throw new InvalidDataException("bad PNG signature");
        int pos = 8, width = 0, height = 0;
        var idat = new MemoryStream();
        bool ended = false;
        while (!ended)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(pos));
            string type = Encoding.ASCII.GetString(file, pos + 4, 4);
            var data = file.AsSpan(pos + 8, length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos + 8 + length));
            if (BitwiseCrc32(file.AsSpan(pos + 4, 4 + length)) != crc) throw new InvalidDataException($"bad CRC in chunk {type}");
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    if (data[8] != 8 || data[9] != 2 || data[12] != 0) throw new InvalidDataException("only 8-bit RGB, non-interlaced");
                    break;
                case "IDAT": idat.Write(data); break;
                case "IEND": ended = true; break;
            }
            pos += 12 + length;
        }
        if (pos != file.Length) throw new InvalidDataException("bytes after IEND");

        idat.Position = 0;
        var raw = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress)) z.CopyTo(raw);
        byte[] bytes = raw.ToArray();
        int stride = width * 3;
        if (bytes.Length != (stride + 1) * height) throw new InvalidDataException($"expected {(stride + 1) * height} bytes of scanlines, got {bytes.Length}");
        var rgb = new byte[stride * height];
        for (int y = 0; y < height; y++)
        {
            int filter = bytes[y * (stride + 1)];
            for (int i = 0; i < stride; i++)
            {
                int x = bytes[y * (stride + 1) + 1 + i];
                int a = i >= 3 ? rgb[y * stride + i - 3] : 0;
                int b = y > 0 ? rgb[(y - 1) * stride + i] : 0;
                int c = i >= 3 && y > 0 ? rgb[(y - 1) * stride + i - 3] : 0;
                int predicted = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"bad filter {filter}"),
                };
                rgb[y * stride + i] = (byte)(x + predicted);
            }
        }
        return (width, height, rgb);
    }

    /// <summary>CRC-32 computed one bit at a time, straight from the polynomial.</summary>
    public static uint BitwiseCrc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte d in data)
        {
            crc ^= d;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
