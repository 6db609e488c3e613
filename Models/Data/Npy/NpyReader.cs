using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Astmt.Models.Data.Npy;

/// <summary>
/// Reads NumPy .npy files (format versions 1.0, 2.0 and 3.0; little-endian float32, float64, int32 and int64; C order).
/// Every failure is an <see cref="NpyFormatException"/> naming the file and saying what was expected.
/// </summary>
public static class NpyReader
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads a whole file.</summary>
    public static NpyArray Read(string path)
    {
        FileStream fs;
        try { fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NpyFormatException(path, $"cannot open the .npy file ({e.Message}).", e);
        }
        using (fs) return Read(fs, path);
    }

    /// <summary>Reads one array from a stream positioned at the magic string; <paramref name="name"/> is used in messages.</summary>
    public static NpyArray Read(Stream stream, string name)
    {
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(stream, prefix, name, "the 8-byte magic and version");
        if (!prefix[..6].SequenceEqual(Magic))
            throw new NpyFormatException(name, "not an .npy file: it does not start with the magic string \\x93NUMPY.");
        int major = prefix[6], minor = prefix[7];
        int headerLength;
        Encoding encoding;
        if (major == 1)
        {
            Span<byte> len = stackalloc byte[2];
            ReadExactly(stream, len, name, "the 2-byte header length");
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(len);
            encoding = Encoding.Latin1;
        }
        else if (major is 2 or 3)
        {
            Span<byte> len = stackalloc byte[4];
            ReadExactly(stream, len, name, "the 4-byte header length");
            uint l = BinaryPrimitives.ReadUInt32LittleEndian(len);
            if (l > 1 << 24) throw new NpyFormatException(name, $"header length {l} is implausible (expected at most 16 MiB).");
            headerLength = (int)l;
            encoding = major == 3 ? Encoding.UTF8 : Encoding.Latin1;
        }
        else
        {
            throw new NpyFormatException(name, $"unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0).");
        }

        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes, name, $"the {headerLength}-byte header");
        var header = NpyHeader.Parse(encoding.GetString(headerBytes), name);
        if (header.FortranOrder)
            throw new NpyFormatException(name, "the array is stored in Fortran order; only C order is supported (save it with np.ascontiguousarray).");

        long count = 1;
        foreach (var d in header.Shape) count *= d;
        long bytes = count * header.DType.Size();
        if (bytes > Array.MaxLength)
            throw new NpyFormatException(name, $"the array ({string.Join(", ", header.Shape)}) needs {bytes} bytes, more than one .NET array can hold.");
        if (stream.CanSeek)
        {
            long remaining = stream.Length - stream.Position;
            if (remaining < bytes)
                throw new NpyFormatException(name, $"truncated: the header promises {count} {header.DType} elements ({bytes} bytes) but only {remaining} bytes follow.");
        }
        var data = new byte[bytes];
        ReadExactly(stream, data, name, $"{count} {header.DType} elements ({bytes} bytes) promised by the header");
        if (stream.CanSeek && stream.Position != stream.Length)
            throw new NpyFormatException(name, $"{stream.Length - stream.Position} unexpected bytes after the {bytes} data bytes; the shape in the header does not match the file.");
        return new NpyArray(header.DType, header.Shape, data, name);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string name, string what)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0)
                throw new NpyFormatException(name, $"truncated: the file ended after {total} of the {buffer.Length} bytes of {what}.");
            total += n;
        }
    }
}

/// <summary>The parsed header dictionary of an .npy file.</summary>
internal readonly record struct NpyHeader(NpyDType DType, bool FortranOrder, int[] Shape)
{
    /// <summary>Parses the Python dict literal, e.g. <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }</c>.</summary>
    public static NpyHeader Parse(string text, string name)
    {
        string? descr = null;
        bool? fortran = null;
        int[]? shape = null;
        int p = 0;
        Skip(text, ref p);
        Expect(text, ref p, '{', name);
        while (true)
        {
            Skip(text, ref p);
            if (p < text.Length && text[p] == '}') break;
            string key = ReadString(text, ref p, name);
            Skip(text, ref p);
            Expect(text, ref p, ':', name);
            Skip(text, ref p);
            switch (key)
            {
                case "descr": descr = ReadString(text, ref p, name); break;
                case "fortran_order": fortran = ReadBool(text, ref p, name); break;
                case "shape": shape = ReadShape(text, ref p, name); break;
                default: throw new NpyFormatException(name, $"malformed header: unexpected key '{key}' (expected descr, fortran_order, shape).");
            }
            Skip(text, ref p);
            if (p < text.Length && text[p] == ',') { p++; continue; }
            if (p < text.Length && text[p] == '}') break;
            throw new NpyFormatException(name, $"malformed header '{text.Trim()}': expected ',' or '}}' at position {p}.");
        }
        if (descr == null || fortran == null || shape == null)
            throw new NpyFormatException(name, $"malformed header '{text.Trim()}': it must define 'descr', 'fortran_order' and 'shape'.");
        var dtype = NpyDTypeInfo.Parse(descr)
            ?? throw new NpyFormatException(name, $"unsupported dtype '{descr}' (expected little-endian <f4, <f8, <i4 or <i8).");
        return new NpyHeader(dtype, fortran.Value, shape);
    }

    private static void Skip(string s, ref int p)
    {
        while (p < s.Length && char.IsWhiteSpace(s[p])) p++;
    }

    private static void Expect(string s, ref int p, char c, string name)
    {
        if (p >= s.Length || s[p] != c)
            throw new NpyFormatException(name, $"malformed header '{s.Trim()}': expected '{c}' at position {p}.");
        p++;
    }

    private static string ReadString(string s, ref int p, string name)
    {
        if (p >= s.Length || (s[p] != '\'' && s[p] != '"'))
            throw new NpyFormatException(name, $"malformed header '{s.Trim()}': expected a quoted string at position {p}.");
        char q = s[p++];
        int start = p;
        while (p < s.Length && s[p] != q) p++;
        if (p >= s.Length) throw new NpyFormatException(name, $"malformed header '{s.Trim()}': unterminated string.");
        return s[start..p++];
    }

    private static bool ReadBool(string s, ref int p, string name)
    {
        if (string.CompareOrdinal(s, p, "True", 0, 4) == 0) { p += 4; return true; }
        if (string.CompareOrdinal(s, p, "False", 0, 5) == 0) { p += 5; return false; }
        throw new NpyFormatException(name, $"malformed header '{s.Trim()}': fortran_order must be True or False.");
    }

    private static int[] ReadShape(string s, ref int p, string name)
    {
        Expect(s, ref p, '(', name);
        var dims = new List<int>();
        while (true)
        {
            Skip(s, ref p);
            if (p < s.Length && s[p] == ')') { p++; break; }
            int start = p;
            while (p < s.Length && char.IsDigit(s[p])) p++;
            if (p == start || !int.TryParse(s.AsSpan(start, p - start), NumberStyles.None, CultureInfo.InvariantCulture, out int d))
                throw new NpyFormatException(name, $"malformed header '{s.Trim()}': shape entries must be non-negative integers below 2^31.");
            dims.Add(d);
            Skip(s, ref p);
            if (p < s.Length && s[p] == ',') p++;
        }
        return dims.ToArray();
    }
}
