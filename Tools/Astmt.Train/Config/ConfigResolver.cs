using System.Globalization;
using Astmt.Train.Experiments;

namespace Astmt.Train.Config;

/// <summary>
/// Turns the layers of settings into one checked <see cref="RunConfig"/>. Precedence, lowest first: built-in defaults, the
/// model's defaults, the preset, the model's defaults for the chosen dataset, the <c>--config</c> file, the flags.
/// </summary>
public static class ConfigResolver
{
    /// <summary>Resolves a configuration. <paramref name="fileLayer"/> is the <c>--config</c> file's layer, if any. Without
    /// <paramref name="requireData"/> (for <c>info</c>, which only describes the network) a dataset folder may be left out.</summary>
    public static RunConfig Resolve(ExperimentRegistry registry, ConfigLayer flags, ConfigLayer? fileLayer, DateTime now, bool requireData = true)
    {
        var builtIn = new ConfigLayer();
        foreach (var key in ConfigKeys.All)
            if (key.BuiltInDefault != null) builtIn.Values[key.Name] = new SourcedValue(key.BuiltInDefault, $"default of {key.Flag}");

        // Values the user gave are checked before anything else, so a bad flag is reported as such even when, say, the model
        // named by default is not available.
        foreach (var layer in fileLayer == null ? [flags] : new[] { fileLayer, flags })
            foreach (var (name, value) in layer.Values)
                (ConfigKeys.Find(name) ?? throw new ConfigurationException($"{value.Source}: unknown key '{name}'.")).Canonicalize(value.Text, value.Source);

        // The model and preset choose further layers, so they are looked up first, from the layers that can set them.
        var early = new List<ConfigLayer> { builtIn };
        if (fileLayer != null) early.Add(fileLayer);
        early.Add(flags);
        var modelValue = Last(early, ConfigKeys.Model.Name)!;
        var descriptor = registry.Get(ConfigKeys.Model.Canonicalize(modelValue.Text, modelValue.Source), modelValue.Source);
        var presetValue = Last(early, ConfigKeys.Preset.Name)!;
        string preset = ConfigKeys.Preset.Canonicalize(presetValue.Text, presetValue.Source);

        var layers = new List<ConfigLayer> { builtIn, ConfigLayer.From(descriptor.Defaults, $"default of model '{descriptor.Name}'") };
        if (preset != "default")
        {
            if (!descriptor.Presets.TryGetValue(preset, out var presetValues))
                throw new ConfigurationException($"{presetValue.Source}: model '{descriptor.Name}' has no preset '{preset}'; " +
                    (descriptor.Presets.Count == 0 ? "it has only 'default'." : $"expected default, {string.Join(", ", descriptor.Presets.Keys)}."));
            layers.Add(ConfigLayer.From(presetValues, $"preset '{preset}' of model '{descriptor.Name}'"));
        }
        // The dataset (which the preset may choose) decides the next layer, so it is looked up before the file and flags are added.
        var datasetValue = Last([.. layers, .. fileLayer == null ? new[] { flags } : [fileLayer, flags]], ConfigKeys.Dataset.Name)!;
        string chosenDataset = ConfigKeys.Dataset.Canonicalize(datasetValue.Text, datasetValue.Source);
        if (descriptor.DatasetDefaults.TryGetValue(chosenDataset, out var datasetDefaults))
            layers.Add(ConfigLayer.From(datasetDefaults, $"default of model '{descriptor.Name}' on dataset '{chosenDataset}'"));
        if (fileLayer != null) layers.Add(fileLayer);
        layers.Add(flags);

        string Get(ConfigKey key) { var v = Last(layers, key.Name)!; return key.Canonicalize(v.Text, v.Source); }
        string? GetOptional(ConfigKey key) { var v = Last(layers, key.Name); return v == null ? null : key.Canonicalize(v.Text, v.Source); }
        int Int(ConfigKey key) => int.Parse(Get(key), CultureInfo.InvariantCulture);

        string dataset = Get(ConfigKeys.Dataset);
        if (!descriptor.Datasets.Contains(dataset, StringComparer.Ordinal))
            throw new ConfigurationException($"{Last(layers, ConfigKeys.Dataset.Name)!.Source}: model '{descriptor.Name}' does not take dataset '{dataset}'; " +
                $"expected one of {string.Join(", ", descriptor.Datasets)}.");
        string? data = GetOptional(ConfigKeys.Data);
        if (data == null && dataset != "synthetic" && requireData)
            throw new ConfigurationException($"{ConfigKeys.Data.Flag}: dataset '{dataset}' needs its folder; pass {ConfigKeys.Data.Flag} DIR.");
        if (data != null && !Directory.Exists(data))
            throw new ConfigurationException($"{Last(layers, ConfigKeys.Data.Name)!.Source}: the dataset folder '{data}' does not exist; expected the {dataset} layout there.");

        return new RunConfig
        {
            Model = descriptor.Name,
            Dataset = dataset,
            Data = data,
            Device = Get(ConfigKeys.Device),
            Threads = Int(ConfigKeys.Threads),
            Seed = long.Parse(Get(ConfigKeys.Seed), CultureInfo.InvariantCulture),
            BatchSize = Int(ConfigKeys.BatchSize),
            Epochs = Int(ConfigKeys.Epochs),
            LearningRate = double.Parse(Get(ConfigKeys.LearningRate), CultureInfo.InvariantCulture),
            Weighting = Get(ConfigKeys.Weighting),
            Height = Int(ConfigKeys.Height),
            Width = Int(ConfigKeys.Width),
            PredictionSamples = Int(ConfigKeys.PredictionSamples),
            Preset = preset,
            Out = GetOptional(ConfigKeys.Out) ?? Path.Combine("runs", $"{descriptor.Name}-{now:yyyyMMdd-HHmmss}"),
            Options = ResolveOptions(descriptor, layers),
        };
    }

    private static SortedDictionary<string, string> ResolveOptions(ExperimentDescriptor descriptor, List<ConfigLayer> layers)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in descriptor.Options) result[o.Name] = o.Default;
        foreach (var layer in layers)
        {
            foreach (var (name, value) in layer.Options)
            {
                var option = descriptor.Options.FirstOrDefault(o => o.Name == name) ?? throw new ConfigurationException(
                    $"{value.Source}: model '{descriptor.Name}' has no option '{name}'; " +
                    (descriptor.Options.Count == 0 ? "it takes none." : $"expected one of {string.Join(", ", descriptor.Options.Select(o => o.Name))}."));
                string text = value.Text.Trim();
                if (option.Choices != null)
                {
                    string? match = option.Choices.FirstOrDefault(c => string.Equals(c, text, StringComparison.OrdinalIgnoreCase));
                    text = match ?? throw new ConfigurationException(
                        $"{value.Source}: '{value.Text}' is not valid for {name}; expected one of {string.Join(", ", option.Choices)}.");
                }
                result[name] = text;
            }
        }
        return result;
    }

    private static SourcedValue? Last(List<ConfigLayer> layers, string key)
    {
        for (int i = layers.Count - 1; i >= 0; i--)
            if (layers[i].Values.TryGetValue(key, out var v)) return v;
        return null;
    }
}
