using Astmt.Train.Experiments;
using Astmt.Train.IO;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Astmt.Train.Config;

/// <summary>Reads config files (a flat mapping of the common keys plus an <c>options:</c> mapping) and writes a run's config.yaml.</summary>
public static class YamlConfig
{
    /// <summary>Reads <paramref name="path"/> into a layer whose sources name the file and line. Throws
    /// <see cref="ConfigurationException"/> for a missing file, malformed YAML, an unknown key or a non-scalar value.</summary>
    public static ConfigLayer Read(string path)
    {
        if (!File.Exists(path))
            throw new ConfigurationException($"--config: the file '{path}' does not exist; expected a YAML file such as a run's config.yaml.");
        string name = Path.GetFileName(path);
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (YamlException e)
        {
            throw new ConfigurationException(
                $"{name} line {e.Start.Line}, column {e.Start.Column}: malformed YAML ({FirstLine(e.Message)}); expected lines such as 'epochs: 10'.", e);
        }

        var layer = new ConfigLayer();
        if (stream.Documents.Count == 0) return layer;
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigurationException($"{name}: expected a mapping of keys at the top level (for example 'epochs: 10'), found {Describe(stream.Documents[0].RootNode)}.");

        foreach (var (keyNode, valueNode) in root.Children)
        {
            string key = ((keyNode as YamlScalarNode)?.Value ?? "").Trim();
            string where = $"{name} line {keyNode.Start.Line}";
            if (key == ConfigKeys.OptionsKey)
            {
                if (valueNode is YamlScalarNode s0 && IsNull(s0)) continue;
                if (valueNode is not YamlMappingNode options)
                    throw new ConfigurationException($"{where}: '{ConfigKeys.OptionsKey}' must be a mapping of model options (for example 'adversarial: true'), found {Describe(valueNode)}.");
                foreach (var (optKey, optValue) in options.Children)
                {
                    string optName = ((optKey as YamlScalarNode)?.Value ?? "").Trim();
                    string optWhere = $"{name} line {optKey.Start.Line}";
                    layer.Options[optName] = new SourcedValue(Scalar(optValue, optWhere, $"{ConfigKeys.OptionsKey}.{optName}") ?? "", $"{optWhere} ({ConfigKeys.OptionsKey}.{optName})");
                }
                continue;
            }
            if (ConfigKeys.Find(key) == null)
                throw new ConfigurationException(
                    $"{where}: unknown key '{key}'; expected one of {string.Join(", ", ConfigKeys.All.Select(k => k.Name))}, {ConfigKeys.OptionsKey}.");
            string? value = Scalar(valueNode, where, key);
            if (value != null) layer.Values[key] = new SourcedValue(value, $"{where} ({key})");
        }
        return layer;
    }

    /// <summary>Writes <paramref name="config"/> atomically to <paramref name="path"/>, in the format <see cref="Read"/> reads.</summary>
    public static void Write(string path, RunConfig config) => AtomicFile.WriteAllText(path, ToYaml(config));

    /// <summary>The YAML text of <paramref name="config"/>, with a header saying how it was made.</summary>
    public static string ToYaml(RunConfig config)
    {
        var root = new YamlMappingNode();
        var options = new YamlMappingNode();
        foreach (var (key, value) in config.ToPairs())
        {
            if (value == null) continue;
            if (key.StartsWith(ConfigKeys.OptionsKey + ".", StringComparison.Ordinal))
                options.Add(key[(ConfigKeys.OptionsKey.Length + 1)..], value);
            else
                root.Add(key, new YamlScalarNode(value) { Style = NeedsQuotes(value) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any });
        }
        if (options.Children.Count > 0) root.Add(ConfigKeys.OptionsKey, options);

        using var writer = new StringWriter();
        writer.Write("# Resolved configuration of this run: built-in defaults < model defaults < preset < --config file < flags.\n");
        writer.Write($"# Configuration hash (checkpoints must match it): {config.Hash()}\n");
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        string text = writer.ToString();
        // The emitter closes the document with "...", which is valid YAML but noise for people reading the file.
        if (text.EndsWith("...\n", StringComparison.Ordinal)) text = text[..^4];
        return text.ReplaceLineEndings("\n");
    }

    private static bool NeedsQuotes(string value) =>
        value.Length == 0 || value is "~" or "null" or "true" or "false" || value.IndexOfAny([':', '#', '\'', '"', '{', '}', '[', ']', ',']) >= 0 ||
        char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]);

    private static string? Scalar(YamlNode node, string where, string key)
    {
        if (node is not YamlScalarNode s)
            throw new ConfigurationException($"{where}: '{key}' must be a single value, found {Describe(node)}.");
        return IsNull(s) ? null : s.Value;
    }

    private static bool IsNull(YamlScalarNode s) =>
        s.Style == ScalarStyle.Plain && (s.Value is null or "" or "~" or "null" or "Null" or "NULL");

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"the value '{s.Value}'",
        _ => "something else",
    };

    private static string FirstLine(string message)
    {
        int i = message.IndexOfAny(['\r', '\n']);
        return i < 0 ? message : message[..i];
    }
}
