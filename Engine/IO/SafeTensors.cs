using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Astmt.Engine.IO;

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
/// shape and byte range, then the raw little-endian data), the format PyTorch and Hugging Face use for checkpoints.
/// </summary>
public static class SafeTensors
{
    /// <summary>Key of the header's string metadata object.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Headers larger than this are rejected as corrupt (Hugging Face's reader uses the same bound).</summary>
    internal const long MaxHeaderBytes = 100_000_000;

    /// <summary>Writes <paramref name="tensors"/> (and string <paramref name="metadata"/>) to <paramref name="path"/> atomically: a
    /// temporary file in the same folder is written, flushed and renamed over the target.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        SaveCore(path, tensors, metadata, static s => s);

    /// <summary>Opens <paramref name="path"/> and parses its header; tensors are read on demand.</summary>
    public static SafeTensorsFile Load(string path) => SafeTensorsReader.Open(path);

    /// <summary>Reads every tensor of <paramref name="path"/> into a dictionary keyed like the file (file order).</summary>
    public static Dictionary<string, Tensor> LoadAll(string path)
    {
        var file = Load(path);
        return file.GetAll();
    }

    /// <summary>The writer. <paramref name="wrapStream"/> lets tests interpose a stream that fails part-way, to show that a failed
    /// write leaves the previous file untouched.</summary>
    internal static void SaveCore(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata,
        Func<Stream, Stream> wrapStream)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors: writing needs a little-endian host.");
        var full = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(full) ?? throw new ArgumentException($"safetensors '{path}': the path has no folder.");
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"safetensors '{path}': folder '{folder}' does not exist.");

        var entries = Plan(path, tensors);
        var header = SafeTensorsHeader.Write(entries, metadata);
        var temp = System.IO.Path.Combine(folder, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var stream = wrapStream(file);
                Span<byte> length = stackalloc byte[8];
                BitConverter.TryWriteBytes(length, (long)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var e in entries) WriteData(stream, e.Tensor);
                stream.Flush();
                // The data must be on disk before the rename makes it visible under the real name.
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Checks every tensor before anything is written and assigns byte ranges in dictionary order.</summary>
    private static List<SafeTensorsHeader.Entry> Plan(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var entries = new List<SafeTensorsHeader.Entry>(tensors.Count);
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException($"safetensors '{path}': tensor names must not be empty.");
            if (name == MetadataKey) throw new ArgumentException($"safetensors '{path}': '{MetadataKey}' is reserved for the metadata and cannot name a tensor.");
            if (t is null) throw new ArgumentException($"safetensors '{path}': tensor '{name}' is null.");
            if (t.IsReleased) throw new ObjectDisposedException(nameof(Tensor), $"safetensors '{path}': tensor '{name}' ({t.Describe()}) was released before it could be saved.");
            long bytes = (long)t.Numel * t.DType.SizeOf();
            entries.Add(new SafeTensorsHeader.Entry(name, SafeTensorsDType.Name(t.DType), t.Shape, offset, offset + bytes, t));
            offset += bytes;
        }
        return entries;
    }

    private static void WriteData(Stream stream, Tensor? tensor)
    {
        var t = tensor!;
        if (t.Numel == 0) return;
        var host = t.Device.IsCpu ? t : t.To(Device.Cpu);
        var dense = host.IsContiguous ? host : host.Detach();
        try
        {
            switch (dense.DType)
            {
                case DType.Float32: stream.Write(MemoryMarshal.AsBytes(dense.Span<float>())); break;
                case DType.Float64: stream.Write(MemoryMarshal.AsBytes(dense.Span<double>())); break;
                default: stream.Write(MemoryMarshal.AsBytes(dense.Span<long>())); break;
            }
        }
        finally
        {
            if (!ReferenceEquals(dense, host)) dense.Dispose();
            if (!ReferenceEquals(host, t)) host.Dispose();
        }
    }
}

/// <summary>What the header says about one tensor of a safetensors file.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="FileDType">The dtype as stored (<c>F32</c>, <c>BF16</c>, <c>I32</c>, ...).</param>
/// <param name="DType">The dtype <see cref="SafeTensorsFile.Get"/> returns it as.</param>
/// <param name="Shape">Shape.</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
public sealed record SafeTensorInfo(string Name, string FileDType, DType DType, int[] Shape, long Begin, long End)
{
    /// <summary>Number of bytes in the file.</summary>
    public long ByteLength => End - Begin;
}

/// <summary>An opened safetensors file.</summary>
public sealed class SafeTensorsFile
{
    private IReadOnlyDictionary<string, SafeTensorInfo>? _infos;
    private long _dataStart;

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor names in file order.</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Creates a file description (used by the reader). Tensor details are read from <paramref name="path"/> on first use.</summary>
    public SafeTensorsFile(string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<string> keys)
    {
        Path = path;
        Metadata = metadata;
        Keys = keys;
    }

    internal SafeTensorsFile(string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<string> keys,
        IReadOnlyDictionary<string, SafeTensorInfo> infos, long dataStart) : this(path, metadata, keys)
    {
        _infos = infos;
        _dataStart = dataStart;
    }

    /// <summary>True when the file holds a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => Infos.ContainsKey(name);

    /// <summary>Dtype, shape and byte range of tensor <paramref name="name"/>, without reading its data.</summary>
    public SafeTensorInfo Info(string name) =>
        Infos.TryGetValue(name, out var info) ? info : throw Missing(name);

    /// <summary>Reads tensor <paramref name="name"/> as a new CPU tensor (F16/BF16 widened to Float32).</summary>
    public Tensor Get(string name)
    {
        var info = Info(name);
        using var stream = SafeTensorsReader.OpenRead(Path);
        return SafeTensorsReader.Read(Path, stream, info, _dataStart);
    }

    /// <summary>Reads every tensor, in file order, through one open stream.</summary>
    public Dictionary<string, Tensor> GetAll()
    {
        var infos = Infos;
        var result = new Dictionary<string, Tensor>(Keys.Count);
        using var stream = SafeTensorsReader.OpenRead(Path);
        try
        {
            foreach (var key in Keys) result[key] = SafeTensorsReader.Read(Path, stream, infos[key], _dataStart);
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    private IReadOnlyDictionary<string, SafeTensorInfo> Infos
    {
        get
        {
            if (_infos == null)
            {
                var parsed = SafeTensorsReader.Open(Path);
                _dataStart = parsed._dataStart;
                _infos = parsed._infos;
            }
            return _infos!;
        }
    }

    private KeyNotFoundException Missing(string name)
    {
        var sample = string.Join(", ", Keys.Take(8).Select(k => $"'{k}'"));
        return new KeyNotFoundException(
            $"safetensors '{Path}': no tensor '{name}'. The file holds {Keys.Count} tensors{(Keys.Count > 0 ? $", e.g. {sample}" : "")}.");
    }
}
