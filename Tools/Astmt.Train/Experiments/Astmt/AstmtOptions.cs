using System.Globalization;
using Astmt.Models.Astmt;
using Astmt.Train.Config;

namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>
/// The ASTMT experiments' own options (flags <c>--NAME</c>, or <c>options: NAME: value</c> in a config file), read and checked
/// once from a <see cref="RunConfig"/>. Every error names the flag and says what it accepts.
/// </summary>
public sealed record AstmtOptions
{
    /// <summary>Per-task SE in the encoder.</summary>
    public const string SeEncoderName = "se-encoder";
    /// <summary>Per-task SE (and per-task norms) in the decoder.</summary>
    public const string SeDecoderName = "se-decoder";
    /// <summary>Residual adapters.</summary>
    public const string AdaptersName = "adapters";
    /// <summary>Adversarial gradient alignment.</summary>
    public const string AdversarialName = "adversarial";
    /// <summary>One shared set of encoder batch norms instead of one per task.</summary>
    public const string SharedEncoderNormName = "shared-encoder-norm";
    /// <summary>Task subset.</summary>
    public const string TasksName = "tasks";
    /// <summary>Output stride.</summary>
    public const string OutputStrideName = "output-stride";
    /// <summary>Optimizer stepping within a batch.</summary>
    public const string TaskStepName = "task-step";
    /// <summary>Divisor of the encoder widths (reduced networks).</summary>
    public const string WidthDivisorName = "width-divisor";
    /// <summary>Decoder width.</summary>
    public const string DecoderWidthName = "decoder-width";
    /// <summary>Synthetic training scenes (shared name with MTAN).</summary>
    public const string TrainSamplesName = "train-samples";
    /// <summary>Synthetic evaluation scenes (shared name with MTAN).</summary>
    public const string EvalSamplesName = "eval-samples";
    /// <summary>The reference's flip/scale/rotate augmentation (shared name with MTAN).</summary>
    public const string AugmentName = "augment";
    /// <summary>Single-task results for Δm.</summary>
    public const string BaselinesName = "baselines";

    /// <summary>The options as the trainer offers them, with their defaults.</summary>
    public static readonly IReadOnlyList<ModelOption> All =
    [
        ModelOption.Switch(SeEncoderName, "ASTMT: task-specific squeeze-and-excitation in the encoder (else one shared SE per block)"),
        ModelOption.Switch(SeDecoderName, "ASTMT: task-specific squeeze-and-excitation and batch norms in the decoder (else none and shared)"),
        ModelOption.Switch(AdaptersName, "ASTMT: zero-initialised task-specific residual adapters (1x1 convs added before BN)"),
        ModelOption.Switch(AdversarialName, "ASTMT: adversarial gradient alignment with a task discriminator (double backprop)"),
        ModelOption.Switch(SharedEncoderNormName, "ASTMT: share the encoder's batch norms (the reference has one per task); with no encoder SE " +
            "and no adapters the encoder is then task-agnostic and runs once per image instead of once per task"),
        new(TasksName, "ASTMT: comma-separated subset of the dataset's tasks, e.g. edge,semseg (default: all; the order stays the reference's)", "all"),
        new(OutputStrideName, "ASTMT: encoder output stride (ASPP rates 6/12/18 at 16, 12/24/36 at 8)", "16", ["16", "8"]),
        new(TaskStepName, "ASTMT: per-task = one SGD step per task per batch (the reference); summed = one step on the summed gradients",
            "per-task", ["per-task", "summed"]),
        new(WidthDivisorName, "ASTMT: divides the encoder's widths: 1 = the paper's network, 16 the smallest (one SE hidden unit per layer); auto = 8 on synthetic scenes, 1 on pascal-context/nyud",
            "auto", ["auto", "1", "2", "4", "8", "16"]),
        new(DecoderWidthName, "ASTMT: decoder width w, a multiple of 16 from 32: 64 in the paper; auto = 32 on synthetic scenes, 64 on pascal-context/nyud", "auto"),
        new(TrainSamplesName, "ASTMT: training scenes of the synthetic dataset (pascal-context/nyud use every file)", "795"),
        new(EvalSamplesName, "ASTMT: evaluation scenes of the synthetic dataset (pascal-context/nyud use every file)", "654"),
        ModelOption.Switch(AugmentName, "ASTMT: the reference's training augmentation (flip, rotation ±20°, scale 0.75-1.25)"),
        new(BaselinesName, "ASTMT: single-task results for Δm: comma-separated JSON files written by 'eval --json' (or {task: {metric: value}})", ""),
    ];

    /// <summary>The network configuration.</summary>
    public required AstmtConfig Network { get; init; }

    /// <summary>How the optimizer steps within a batch.</summary>
    public required AstmtStepMode StepMode { get; init; }

    /// <summary>Synthetic training scenes.</summary>
    public required int TrainCount { get; init; }

    /// <summary>Synthetic evaluation scenes.</summary>
    public required int EvalCount { get; init; }

    /// <summary>Flip/scale/rotate augmentation of training samples.</summary>
    public required bool Augment { get; init; }

    /// <summary>Files holding single-task results, or empty.</summary>
    public required IReadOnlyList<string> BaselineFiles { get; init; }

    /// <summary>Reads and checks the options of <paramref name="config"/>.</summary>
    public static AstmtOptions From(RunConfig config)
    {
        var backbone = config.Model.ToLowerInvariant() switch
        {
            "astmt-r26" => AstmtBackbone.R26,
            "astmt-r50" => AstmtBackbone.R50,
            "astmt-r101" => AstmtBackbone.R101,
            _ => throw new ConfigurationException($"--model: '{config.Model}' is not an ASTMT network; expected astmt-r26, astmt-r50 or astmt-r101."),
        };
        var dataset = config.Dataset switch
        {
            "pascal-context" => AstmtDataset.PascalContext,
            "nyud" => AstmtDataset.Nyud,
            "synthetic" => AstmtDataset.Synthetic,
            _ => throw new ConfigurationException($"--dataset: ASTMT does not take '{config.Dataset}'; expected one of {string.Join(", ", AstmtExperiments.Datasets)}."),
        };
        var network = AstmtConfig.For(dataset, backbone, config.OptionFlag(SeEncoderName), config.OptionFlag(SeDecoderName),
            config.OptionFlag(AdaptersName), config.OptionFlag(AdversarialName)) with
        {
            OutputStride = config.Option(OutputStrideName, "16") == "8" ? 8 : 16,
            WidthDivisor = config.Option(WidthDivisorName, "auto") is var divisor && divisor == "auto"
                ? (dataset == AstmtDataset.Synthetic ? 8 : 1)
                : int.Parse(divisor, CultureInfo.InvariantCulture),
            DecoderWidth = DecoderWidth(config),
            TaskEncoderNorm = !config.OptionFlag(SharedEncoderNormName),
        };
        network = network with { Tasks = SelectTasks(config.Option(TasksName, "all"), network.Tasks, config.Dataset) };
        if (network.Adversarial && network.Tasks.Count < 2)
            throw new ConfigurationException($"--{AdversarialName}: the discriminator tells tasks apart, so it needs at least two tasks; --{TasksName} leaves {network.Tasks.Count}.");

        int stride = network.OutputStride;
        if (config.Height < 2 * stride || config.Width < 2 * stride)
            throw new ConfigurationException($"--height/--width: {config.Height}x{config.Width} is too small for output stride {stride}; " +
                $"expected at least {2 * stride}x{2 * stride} (the encoder's last features must be at least 2x2).");

        return new AstmtOptions
        {
            Network = network,
            StepMode = config.Option(TaskStepName, "per-task") == "summed" ? AstmtStepMode.Summed : AstmtStepMode.PerTask,
            TrainCount = Count(config, TrainSamplesName, "795"),
            EvalCount = Count(config, EvalSamplesName, "654"),
            Augment = config.OptionFlag(AugmentName),
            BaselineFiles = config.Option(BaselinesName, "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
    }

    /// <summary>The tasks named in <paramref name="text"/> ("all" or a comma-separated list), in the reference's order.</summary>
    public static IReadOnlyList<AstmtTask> SelectTasks(string text, IReadOnlyList<AstmtTask> available, string dataset)
    {
        if (text.Trim() == "all") return available;
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string known = string.Join(", ", available.Select(t => t.Name));
        if (names.Length == 0) throw new ConfigurationException($"--{TasksName}: '{text}' names no task; expected 'all' or a comma-separated subset of {known}.");
        foreach (var n in names)
        {
            if (!available.Any(t => t.Name == n))
                throw new ConfigurationException($"--{TasksName}: dataset '{dataset}' has no task '{n}'; expected a comma-separated subset of {known}.");
        }
        if (names.Distinct().Count() != names.Length) throw new ConfigurationException($"--{TasksName}: '{text}' names a task twice; expected each of {known} at most once.");
        return available.Where(t => names.Contains(t.Name)).ToArray();
    }

    private static int DecoderWidth(RunConfig config)
    {
        string text = config.Option(DecoderWidthName, "auto");
        if (text == "auto") return config.Dataset == "synthetic" ? 32 : 64;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int w) || w < 32 || w % 16 != 0 || w > 1024)
            throw new ConfigurationException($"--{DecoderWidthName}: '{text}' is not valid; expected auto or a multiple of 16 from 32 to 1024 " +
                "(SE reduces w by 16, and the low-level path's 48·w/256 channels by 4).");
        return w;
    }

    private static int Count(RunConfig config, string name, string fallback)
    {
        string text = config.Option(name, fallback);
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < 1 || n > 1_000_000)
            throw new ConfigurationException($"--{name}: '{text}' is not valid; expected a whole number from 1 to 1000000.");
        return n;
    }
}
