using Astmt.Train.Config;

namespace Astmt.Train.Experiments;

/// <summary>A model-specific option, offered as a flag (<c>--NAME</c>) and in config files under <c>options:</c>.</summary>
/// <param name="Name">Flag name without dashes, for example <c>se-encoder</c>.</param>
/// <param name="Help">One line for <c>--help</c>.</param>
/// <param name="Default">Default value as text.</param>
/// <param name="Choices">Accepted values, or null for free text. A switch has choices true and false.</param>
public sealed record ModelOption(string Name, string Help, string Default, IReadOnlyList<string>? Choices = null)
{
    /// <summary>A true/false option that is given on the command line without a value (<c>--adversarial</c>).</summary>
    public static ModelOption Switch(string name, string help) => new(name, help, "false", ["true", "false"]);

    /// <summary>True for <see cref="Switch"/> options.</summary>
    public bool IsSwitch => Choices is ["true", "false"];
}

/// <summary>
/// How a model plugs into the trainer: its name, the datasets it accepts, its defaults and presets, its own options, and a
/// factory that builds the experiment from a resolved configuration.
/// </summary>
public sealed class ExperimentDescriptor
{
    /// <summary>Model name as given to <c>--model</c>.</summary>
    public required string Name { get; init; }

    /// <summary>One line describing the model.</summary>
    public required string Summary { get; init; }

    /// <summary>Dataset names the model accepts.</summary>
    public required IReadOnlyList<string> Datasets { get; init; }

    /// <summary>The model's defaults over the built-in ones, by config key (for example <c>epochs</c> → <c>"8"</c>).</summary>
    public IReadOnlyDictionary<string, string> Defaults { get; init; } = new Dictionary<string, string>();

    /// <summary>Named presets over the defaults; <c>paper</c> should reproduce the paper's settings.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Presets { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();

    /// <summary>Defaults that depend on the dataset, by dataset name and then config key (for example MTAN on <c>nyuv2</c>: the
    /// paper's 288×384, batch 2, 200 epochs). They lie over the model's defaults and the preset (the dataset fixes what was run
    /// on it), under the <c>--config</c> file and the flags. A dataset without an entry keeps the model's defaults.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> DatasetDefaults { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();

    /// <summary>Options specific to this model.</summary>
    public IReadOnlyList<ModelOption> Options { get; init; } = [];

    /// <summary>Builds the experiment. Throws <see cref="ConfigurationException"/> for settings the model cannot take
    /// (for example a resolution that is not a multiple of 32 for SegNet) and for a missing or malformed dataset folder.</summary>
    public required Func<RunConfig, IExperiment> Create { get; init; }
}

/// <summary>What <c>data synth</c> asks a synthetic-scene writer to produce.</summary>
/// <param name="Out">Folder to write into.</param>
/// <param name="Layout"><c>nyuv2</c> (MTAN's {train,val}/{image,label,depth,normal}/{i}.npy) or <c>astmt</c> (all six ASTMT tasks).</param>
/// <param name="Count">Number of training scenes.</param>
/// <param name="ValCount">Number of validation scenes.</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
/// <param name="Seed">Seed; scene i depends only on the seed and i.</param>
/// <param name="Progress">Called with the number of scenes written so far (train and val together), if the writer reports it.</param>
public sealed record SynthRequest(string Out, string Layout, int Count, int ValCount, int Height, int Width, long Seed, Action<int> Progress);
