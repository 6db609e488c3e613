namespace Astmt.Engine.IO;

/// <summary>
/// Reads and writes the safetensors format (an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
/// shape and byte range, then the raw little-endian data), the format PyTorch and Hugging Face use for checkpoints.
/// </summary>
public static class SafeTensors
{
    /// <summary>Writes <paramref name="tensors"/> (and string <paramref name="metadata"/>) to <paramref name="path"/> atomically: a
    /// temporary file in the same folder is written, flushed and renamed over the target.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        throw new NotImplementedException("safetensors is being written (engine-core issue).");

    /// <summary>Opens <paramref name="path"/> and parses its header; tensors are read on demand.</summary>
    public static SafeTensorsFile Load(string path) =>
        throw new NotImplementedException("safetensors is being written (engine-core issue).");
}

/// <summary>An opened safetensors file.</summary>
public sealed class SafeTensorsFile
{
    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The header's <c>__metadata__</c> strings.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor names in file order.</summary>
    public IReadOnlyList<string> Keys { get; }

    /// <summary>Creates a file description (used by the reader).</summary>
    public SafeTensorsFile(string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<string> keys)
    {
        Path = path;
        Metadata = metadata;
        Keys = keys;
    }

    /// <summary>Reads tensor <paramref name="name"/> as a new CPU tensor (F16/BF16 widened to Float32).</summary>
    public Tensor Get(string name) => throw new NotImplementedException("safetensors is being written (engine-core issue).");
}
