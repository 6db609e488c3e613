using System.Collections;

namespace Astmt.Engine.NN;

/// <summary>An indexable list of child modules, PyTorch's <c>nn.ModuleList</c>; children are named "0", "1", ….</summary>
/// <typeparam name="T">The element type, so callers get typed access without casts.</typeparam>
public class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _items = [];

    /// <summary>Creates the list from <paramref name="modules"/>.</summary>
    public ModuleList(params IEnumerable<T> modules)
    {
        foreach (var m in modules) Append(m);
    }

    /// <summary>Appends <paramref name="module"/> under the next index and returns this list.</summary>
    public ModuleList<T> Append(T module)
    {
        RegisterModule(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        _items.Add(module);
        return this;
    }

    /// <summary>The module at <paramref name="index"/> (negative counts from the end, as in Python).</summary>
    public T this[int index] => _items[index < 0 ? _items.Count + index : index];

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string TypeName => "ModuleList";
}

/// <summary>A list of modules of any type (PyTorch's <c>nn.ModuleList</c>).</summary>
public sealed class ModuleList : ModuleList<Module>
{
    /// <summary>Creates the list from <paramref name="modules"/>.</summary>
    public ModuleList(params IEnumerable<Module> modules) : base(modules) { }
}
