namespace Astmt.Train.Config;

/// <summary>The keys every command accepts, as flags and in YAML config files.</summary>
public static class ConfigKeys
{
    /// <summary>The network.</summary>
    public static readonly ConfigKey Model = new("model", "Network to train (see 'info')", ConfigValueKind.Text, "mtan-segnet");
    /// <summary>The dataset.</summary>
    public static readonly ConfigKey Dataset = new("dataset", "Dataset", ConfigValueKind.Choice, "synthetic",
        ["synthetic", "nyuv2", "cityscapes", "pascal-context", "nyud"]);
    /// <summary>The dataset folder.</summary>
    public static readonly ConfigKey Data = new("data", "Dataset folder (required for every dataset but synthetic)", ConfigValueKind.Path, null);
    /// <summary>The compute device.</summary>
    public static readonly ConfigKey Device = new("device", "Compute device: auto (cuda when a CUDA driver and GPU are present, else cpu), cpu, cuda (a GPU) or emu (the CUDA kernels on the CPU emulator: verification only, slow)", ConfigValueKind.Choice, "auto", ["auto", "cpu", "cuda", "emu"], DefinesRun: false);
    /// <summary>CPU worker threads.</summary>
    public static readonly ConfigKey Threads = new("threads", "CPU worker threads (exact resume needs the same count)", ConfigValueKind.Integer,
        Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture), Minimum: 1, DefinesRun: false);
    /// <summary>The seed of every generator.</summary>
    public static readonly ConfigKey Seed = new("seed", "Random seed", ConfigValueKind.Integer, "0");
    /// <summary>Images per training batch.</summary>
    public static readonly ConfigKey BatchSize = new("batch-size", "Images per batch", ConfigValueKind.Integer, "2", Minimum: 1);
    /// <summary>Number of epochs.</summary>
    public static readonly ConfigKey Epochs = new("epochs", "Epochs to train", ConfigValueKind.Integer, "10", Minimum: 1, DefinesRun: false);
    /// <summary>Base learning rate.</summary>
    public static readonly ConfigKey LearningRate = new("lr", "Base learning rate", ConfigValueKind.PositiveNumber, "0.0001");
    /// <summary>Task weighting scheme.</summary>
    public static readonly ConfigKey Weighting = new("weighting", "Task weighting", ConfigValueKind.Choice, "equal", ["equal", "dwa", "uncert"]);
    /// <summary>Input height.</summary>
    public static readonly ConfigKey Height = new("height", "Input height in pixels", ConfigValueKind.Integer, "64", Minimum: 1);
    /// <summary>Input width.</summary>
    public static readonly ConfigKey Width = new("width", "Input width in pixels", ConfigValueKind.Integer, "64", Minimum: 1);
    /// <summary>Number of evaluation samples drawn in prediction grids.</summary>
    public static readonly ConfigKey PredictionSamples = new("prediction-samples", "Evaluation samples drawn in prediction grids",
        ConfigValueKind.Integer, "4", Minimum: 0, DefinesRun: false);
    /// <summary>Settings preset.</summary>
    public static readonly ConfigKey Preset = new("preset", "Settings preset: 'default' (quick) or 'paper' (the paper's exact settings)",
        ConfigValueKind.Choice, "default", ["default", "paper"], DefinesRun: false);
    /// <summary>The run directory.</summary>
    public static readonly ConfigKey Out = new("out", "Run directory [default: runs/MODEL-TIMESTAMP]", ConfigValueKind.Path, null, DefinesRun: false);

    /// <summary>All keys, in the order config files list them.</summary>
    public static readonly IReadOnlyList<ConfigKey> All =
        [Model, Dataset, Data, Device, Threads, Seed, BatchSize, Epochs, LearningRate, Weighting, Height, Width, PredictionSamples, Preset, Out];

    /// <summary>The YAML key holding model-specific options (a mapping of name to value).</summary>
    public const string OptionsKey = "options";

    /// <summary>The key named <paramref name="name"/>, or null.</summary>
    public static ConfigKey? Find(string name)
    {
        foreach (var k in All)
            if (k.Name == name) return k;
        return null;
    }
}
