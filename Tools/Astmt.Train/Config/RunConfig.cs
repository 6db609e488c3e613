using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Astmt.Train.Config;

/// <summary>The fully resolved configuration of a run: every key has a checked value. Written to the run's config.yaml.</summary>
public sealed record RunConfig
{
    /// <summary>Network name.</summary>
    public required string Model { get; init; }
    /// <summary>Dataset name.</summary>
    public required string Dataset { get; init; }
    /// <summary>Dataset folder, or null for the synthetic set.</summary>
    public string? Data { get; init; }
    /// <summary>cpu, cuda or emu.</summary>
    public required string Device { get; init; }
    /// <summary>CPU worker threads.</summary>
    public required int Threads { get; init; }
    /// <summary>Seed of every generator.</summary>
    public required long Seed { get; init; }
    /// <summary>Images per training batch.</summary>
    public required int BatchSize { get; init; }
    /// <summary>Epochs to train.</summary>
    public required int Epochs { get; init; }
    /// <summary>Base learning rate.</summary>
    public required double LearningRate { get; init; }
    /// <summary>equal, dwa or uncert.</summary>
    public required string Weighting { get; init; }
    /// <summary>Input height.</summary>
    public required int Height { get; init; }
    /// <summary>Input width.</summary>
    public required int Width { get; init; }
    /// <summary>Evaluation samples drawn in prediction grids.</summary>
    public required int PredictionSamples { get; init; }
    /// <summary>The preset the values started from.</summary>
    public required string Preset { get; init; }
    /// <summary>Run directory (or output folder for predict).</summary>
    public required string Out { get; init; }
    /// <summary>Model-specific options, by name, in canonical text.</summary>
    public required IReadOnlyDictionary<string, string> Options { get; init; }

    /// <summary>The value of option <paramref name="name"/>, or <paramref name="fallback"/>.</summary>
    public string Option(string name, string fallback) => Options.TryGetValue(name, out var v) ? v : fallback;

    /// <summary>Option <paramref name="name"/> read as a switch ("true"/"false").</summary>
    public bool OptionFlag(string name) => string.Equals(Option(name, "false"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every key and value in canonical text, in the order of <see cref="ConfigKeys.All"/>; options as <c>options.NAME</c>.</summary>
    public IReadOnlyList<KeyValuePair<string, string?>> ToPairs()
    {
        var ci = CultureInfo.InvariantCulture;
        var pairs = new List<KeyValuePair<string, string?>>
        {
            new(ConfigKeys.Model.Name, Model),
            new(ConfigKeys.Dataset.Name, Dataset),
            new(ConfigKeys.Data.Name, Data),
            new(ConfigKeys.Device.Name, Device),
            new(ConfigKeys.Threads.Name, Threads.ToString(ci)),
            new(ConfigKeys.Seed.Name, Seed.ToString(ci)),
            new(ConfigKeys.BatchSize.Name, BatchSize.ToString(ci)),
            new(ConfigKeys.Epochs.Name, Epochs.ToString(ci)),
            new(ConfigKeys.LearningRate.Name, LearningRate.ToString("R", ci)),
            new(ConfigKeys.Weighting.Name, Weighting),
            new(ConfigKeys.Height.Name, Height.ToString(ci)),
            new(ConfigKeys.Width.Name, Width.ToString(ci)),
            new(ConfigKeys.PredictionSamples.Name, PredictionSamples.ToString(ci)),
            new(ConfigKeys.Preset.Name, Preset),
            new(ConfigKeys.Out.Name, Out),
        };
        foreach (var (k, v) in Options.OrderBy(p => p.Key, StringComparer.Ordinal))
            pairs.Add(new($"{ConfigKeys.OptionsKey}.{k}", v));
        return pairs;
    }

    /// <summary>
    /// A hash of the keys that define what is trained (not device, threads, epochs, output or presentation), which a
    /// checkpoint records so that resuming with a different model or data is refused. Hex SHA-256, first 16 characters.
    /// </summary>
    public string Hash()
    {
        var text = new StringBuilder();
        foreach (var (key, value) in ToPairs())
        {
            bool defines = key.StartsWith(ConfigKeys.OptionsKey + ".", StringComparison.Ordinal) || (ConfigKeys.Find(key)?.DefinesRun ?? true);
            if (defines) text.Append(key).Append('=').Append(value ?? "").Append('\n');
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }
}
