namespace Astmt.Train.Config;

/// <summary>A value and where it came from, so an error can point at the flag or the line of the config file.</summary>
/// <param name="Text">The value as written.</param>
/// <param name="Source">For example <c>--epochs</c>, <c>run.yaml line 4</c> or <c>preset 'paper' of model 'mtan-segnet'</c>.</param>
public sealed record SourcedValue(string Text, string Source);

/// <summary>
/// One layer of settings: built-in defaults, a model's defaults, a preset, a config file, or the flags. Layers are applied in
/// that order, each overriding the ones before.
/// </summary>
public sealed class ConfigLayer
{
    /// <summary>Values of the common keys, by key name.</summary>
    public Dictionary<string, SourcedValue> Values { get; } = new(StringComparer.Ordinal);

    /// <summary>Values of model-specific options, by option name.</summary>
    public Dictionary<string, SourcedValue> Options { get; } = new(StringComparer.Ordinal);

    /// <summary>A layer from plain key/value pairs (keys prefixed <c>options.</c> go to <see cref="Options"/>).</summary>
    public static ConfigLayer From(IEnumerable<KeyValuePair<string, string>> values, string source)
    {
        var layer = new ConfigLayer();
        foreach (var (key, value) in values)
        {
            if (key.StartsWith(ConfigKeys.OptionsKey + ".", StringComparison.Ordinal))
                layer.Options[key[(ConfigKeys.OptionsKey.Length + 1)..]] = new SourcedValue(value, source);
            else
                layer.Values[key] = new SourcedValue(value, source);
        }
        return layer;
    }
}
