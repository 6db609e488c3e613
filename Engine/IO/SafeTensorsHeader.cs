using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Astmt.Engine.IO;

/// <summary>The JSON header of a safetensors file: writing it in the layout PyTorch/Hugging Face use, and parsing it with
/// checks that name the file and what was expected.</summary>
internal static class SafeTensorsHeader
{
    /// <summary>One tensor of the header; <see cref="Tensor"/> is set when writing.</summary>
    public sealed record Entry(string Name, string FileDType, int[] Shape, long Begin, long End, Tensor? Tensor);

    /// <summary>The parsed header.</summary>
    public sealed record Parsed(Dictionary<string, string> Metadata, List<string> Keys, Dictionary<string, SafeTensorInfo> Infos);

    /// <summary>Serialises the header: <c>__metadata__</c> first (as the Rust writer does), then the tensors in order, padded with
    /// spaces so the data section starts 8-byte aligned.</summary>
    public static byte[] Write(IReadOnlyList<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + 96 * entries.Count);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensors.MetadataKey);
                foreach (var (k, v) in metadata)
                {
                    if (v is null) throw new ArgumentException($"safetensors: metadata '{k}' is null; metadata values must be strings.");
                    json.WriteString(k, v);
                }
                json.WriteEndObject();
            }
            foreach (var e in entries)
            {
                json.WriteStartObject(e.Name);
                json.WriteString("dtype", e.FileDType);
                json.WriteStartArray("shape");
                foreach (var d in e.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(e.Begin);
                json.WriteNumberValue(e.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    /// <summary>Parses and validates a header. <paramref name="dataLength"/> is the size of the data section that follows it.</summary>
    public static Parsed Parse(string path, ReadOnlySpan<byte> header, long dataLength)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw Corrupt(path, $"the header is not valid JSON ({ex.Message}); expected an object of tensor entries");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Corrupt(path, $"the header is a JSON {doc.RootElement.ValueKind}; expected an object of tensor entries");
            var metadata = new Dictionary<string, string>();
            var keys = new List<string>();
            var infos = new Dictionary<string, SafeTensorInfo>();
            bool sawMetadata = false;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == SafeTensors.MetadataKey)
                {
                    if (sawMetadata) throw Corrupt(path, $"'{SafeTensors.MetadataKey}' appears twice");
                    sawMetadata = true;
                    ParseMetadata(path, prop.Value, metadata);
                    continue;
                }
                if (infos.ContainsKey(prop.Name)) throw Corrupt(path, $"tensor '{prop.Name}' appears twice in the header");
                var info = ParseEntry(path, prop.Name, prop.Value, dataLength);
                infos.Add(prop.Name, info);
                keys.Add(prop.Name);
            }
            CheckNoOverlap(path, infos.Values);
            return new Parsed(metadata, keys, infos);
        }
    }

    private static void ParseMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Corrupt(path, $"'{SafeTensors.MetadataKey}' is a JSON {value.ValueKind}; expected an object of strings");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw Corrupt(path, $"metadata '{m.Name}' is a JSON {m.Value.ValueKind}; expected a string");
            metadata[m.Name] = m.Value.GetString()!;
        }
    }

    private static SafeTensorInfo ParseEntry(string path, string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Corrupt(path, $"tensor '{name}' is a JSON {value.ValueKind}; expected an object with dtype, shape and data_offsets");
        if (!value.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String)
            throw Corrupt(path, $"tensor '{name}' has no string 'dtype'");
        var fileDType = dtypeJson.GetString()!;
        if (!SafeTensorsDType.TryParse(fileDType, out int elementBytes, out var loadsAs))
            throw Corrupt(path, $"tensor '{name}' has unknown dtype '{fileDType}'; expected one of {SafeTensorsDType.Known}");

        if (!value.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array)
            throw Corrupt(path, $"tensor '{name}' has no 'shape' array");
        var shape = new int[shapeJson.GetArrayLength()];
        long numel = 1;
        int i = 0;
        foreach (var d in shapeJson.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int size) || size < 0)
                throw Corrupt(path, $"tensor '{name}' has shape entry {d.GetRawText()}; expected non-negative integers");
            shape[i++] = size;
            numel = Math.Min(numel * size, long.MaxValue / 16);
        }
        if (numel > Array.MaxLength)
            throw Corrupt(path, $"tensor '{name}' of shape [{string.Join('x', shape)}] has more elements than one tensor can hold ({Array.MaxLength})");

        if (!value.TryGetProperty("data_offsets", out var offJson) || offJson.ValueKind != JsonValueKind.Array || offJson.GetArrayLength() != 2)
            throw Corrupt(path, $"tensor '{name}' has no 'data_offsets' pair [begin, end]");
        if (!offJson[0].TryGetInt64(out long begin) || !offJson[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw Corrupt(path, $"tensor '{name}' has data_offsets {offJson.GetRawText()}; expected integers 0 <= begin <= end");
        if (end > dataLength)
            throw Corrupt(path, $"tensor '{name}' has data_offsets [{begin}, {end}] beyond the data section of {dataLength} bytes (file truncated?)");
        long expectedBytes = numel * elementBytes;
        if (end - begin != expectedBytes)
            throw Corrupt(path, $"tensor '{name}': shape [{string.Join('x', shape)}] of {fileDType} needs {expectedBytes} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        return new SafeTensorInfo(name, fileDType, loadsAs, shape, begin, end);
    }

    private static void CheckNoOverlap(string path, IEnumerable<SafeTensorInfo> infos)
    {
        var ranges = infos.Where(x => x.End > x.Begin).OrderBy(x => x.Begin).ToList();
        for (int i = 1; i < ranges.Count; i++)
            if (ranges[i].Begin < ranges[i - 1].End)
                throw Corrupt(path, $"tensors '{ranges[i - 1].Name}' [{ranges[i - 1].Begin}, {ranges[i - 1].End}] and '{ranges[i].Name}' [{ranges[i].Begin}, {ranges[i].End}] overlap; expected disjoint data_offsets");
    }

    /// <summary>An error naming the file and what was wrong with it.</summary>
    public static InvalidDataException Corrupt(string path, string what) => new($"safetensors '{path}': {what}.");

    /// <summary>The header as text, for diagnostics.</summary>
    public static string Text(ReadOnlySpan<byte> header) => Encoding.UTF8.GetString(header);
}
