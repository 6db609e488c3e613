using Astmt.Engine.IO;

namespace Astmt.Engine.NN;

/// <summary>Saving and loading a module's state dict as a safetensors file (the format PyTorch checkpoints are exported to).</summary>
public static class ModuleCheckpoint
{
    /// <summary>Writes <paramref name="module"/>'s state dict, keys prefixed by <paramref name="prefix"/>, to <paramref name="path"/>
    /// atomically, with optional string <paramref name="metadata"/>.</summary>
    public static void SaveSafeTensors(this Module module, string path, IReadOnlyDictionary<string, string>? metadata = null, string prefix = "")
    {
        var state = module.StateDict();
        IReadOnlyDictionary<string, Tensor> entries = prefix.Length == 0
            ? state
            : new OrderedDictionary<string, Tensor>(state.Select(e => KeyValuePair.Create(prefix + e.Key, e.Value)));
        SafeTensors.Save(path, entries, metadata);
    }

    /// <summary>
    /// Loads the entries of <paramref name="path"/> whose keys start with <paramref name="prefix"/> (the prefix removed) into
    /// <paramref name="module"/> with <see cref="Module.LoadStateDict"/>; entries outside the prefix are not considered. Errors
    /// name the file.
    /// </summary>
    public static StateDictLoadResult LoadSafeTensors(this Module module, string path, bool strict = true, string prefix = "")
    {
        var file = SafeTensors.Load(path);
        var state = new Dictionary<string, Tensor>();
        foreach (var key in file.Keys)
            if (key.StartsWith(prefix, StringComparison.Ordinal)) state[key[prefix.Length..]] = file.Get(key);
        if (state.Count == 0)
            throw new InvalidDataException($"'{path}' holds no tensor{(prefix.Length > 0 ? $" whose key starts with '{prefix}'" : "")}; it has {file.Keys.Count} entries.");
        try
        {
            return module.LoadStateDict(state, strict);
        }
        catch (StateDictMismatchException e)
        {
            throw new InvalidDataException($"'{path}' does not fit {module.TypeName}: {e.Message}", e);
        }
        finally
        {
            foreach (var t in state.Values) t.Dispose();
        }
    }
}
