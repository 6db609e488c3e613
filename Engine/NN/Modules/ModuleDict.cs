using System.Collections;

namespace Astmt.Engine.NN;

/// <summary>Child modules by name in insertion order, PyTorch's <c>nn.ModuleDict</c> (for example one head per task).</summary>
/// <typeparam name="T">The element type, so callers get typed access without casts.</typeparam>
public class ModuleDict<T> : Module, IReadOnlyList<KeyValuePair<string, T>> where T : Module
{
    private readonly OrderedDictionary<string, T> _items = new();

    /// <summary>Creates the dictionary from <paramref name="modules"/>, keeping their order.</summary>
    public ModuleDict(params IEnumerable<KeyValuePair<string, T>> modules)
    {
        foreach (var (key, m) in modules) Add(key, m);
    }

    /// <summary>Adds <paramref name="module"/> under <paramref name="key"/> (which must be new and contain no '.').</summary>
    public ModuleDict<T> Add(string key, T module)
    {
        RegisterModule(key, module);
        _items.Add(key, module);
        return this;
    }

    /// <summary>The module registered as <paramref name="key"/>.</summary>
    public T this[string key] =>
        _items.TryGetValue(key, out var m) ? m : throw new KeyNotFoundException($"ModuleDict has no key '{key}'; keys: {string.Join(", ", _items.Keys)}.");

    /// <summary>The entry at <paramref name="index"/> in insertion order.</summary>
    public KeyValuePair<string, T> this[int index] => _items.GetAt(index);

    /// <summary>Keys in insertion order.</summary>
    public IEnumerable<string> Keys => _items.Keys;

    /// <summary>Modules in insertion order.</summary>
    public IEnumerable<T> Values => _items.Values;

    /// <summary>True when <paramref name="key"/> is present.</summary>
    public bool ContainsKey(string key) => _items.ContainsKey(key);

    /// <summary>Number of entries.</summary>
    public int Count => _items.Count;

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, T>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string TypeName => "ModuleDict";
}

/// <summary>A dictionary of modules of any type (PyTorch's <c>nn.ModuleDict</c>).</summary>
public sealed class ModuleDict : ModuleDict<Module>
{
    /// <summary>Creates the dictionary from <paramref name="modules"/>, keeping their order.</summary>
    public ModuleDict(params IEnumerable<KeyValuePair<string, Module>> modules) : base(modules) { }
}
