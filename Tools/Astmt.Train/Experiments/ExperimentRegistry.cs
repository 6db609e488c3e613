namespace Astmt.Train.Experiments;

/// <summary>
/// The models the trainer knows, by name, and the synthetic-scene writer behind <c>data synth</c>. The command line is built
/// from a registry, so tests can use one of their own.
/// </summary>
public sealed class ExperimentRegistry
{
    private readonly Dictionary<string, ExperimentDescriptor> _byName = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The synthetic-scene writer, or null while none is registered.</summary>
    public Action<SynthRequest>? SyntheticWriter { get; set; }

    /// <summary>Registered models, in registration order.</summary>
    public IReadOnlyList<ExperimentDescriptor> All => [.. _byName.Values];

    /// <summary>Adds a model. Names are unique, ignoring case.</summary>
    public ExperimentRegistry Register(ExperimentDescriptor descriptor)
    {
        if (!_byName.TryAdd(descriptor.Name, descriptor))
            throw new InvalidOperationException($"A model named '{descriptor.Name}' is already registered.");
        return this;
    }

    /// <summary>The model named <paramref name="name"/>, or a <see cref="ConfigurationException"/> listing the known names.</summary>
    public ExperimentDescriptor Get(string name, string source)
    {
        if (_byName.TryGetValue(name, out var d)) return d;
        string known = _byName.Count == 0 ? "none is registered yet" : "expected one of " + string.Join(", ", _byName.Keys.Order(StringComparer.Ordinal));
        throw new ConfigurationException($"{source}: unknown model '{name}'; {known}.");
    }

    /// <summary>Every model option declared by any registered model, once per name.</summary>
    public IReadOnlyList<ModelOption> AllOptions()
    {
        var seen = new Dictionary<string, ModelOption>(StringComparer.Ordinal);
        foreach (var d in _byName.Values)
            foreach (var o in d.Options)
                seen.TryAdd(o.Name, o);
        return [.. seen.Values];
    }

    /// <summary>The registry of the shipped models. Models register themselves here as they land (see <see cref="BuiltInExperiments"/>).</summary>
    public static ExperimentRegistry CreateDefault()
    {
        var registry = new ExperimentRegistry();
        BuiltInExperiments.RegisterAll(registry);
        return registry;
    }
}
