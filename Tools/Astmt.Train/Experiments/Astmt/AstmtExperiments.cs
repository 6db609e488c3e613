namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>
/// ASTMT as trainer experiments: <c>astmt-r26</c>, <c>astmt-r50</c> and <c>astmt-r101</c>, on the synthetic scenes (default; all six
/// tasks), PASCAL-Context or NYUD. The quick default is a narrow R-26-shaped network on small synthetic scenes that trains in
/// minutes on two cores; <c>--preset paper</c> is the reference's PASCAL run (512×512, batch 8, 60 epochs, full width, every
/// modulation on, augmentation).
/// </summary>
/// <remarks>The folder is <c>Experiments/Astmt</c>; the namespace is <c>AstmtModels</c> because a nested namespace called
/// <c>Astmt</c> would hide the root <c>Astmt</c> namespace from the code of its parent namespaces.</remarks>
public static class AstmtExperiments
{
    /// <summary>The model names.</summary>
    public static readonly IReadOnlyList<string> Names = ["astmt-r26", "astmt-r50", "astmt-r101"];

    /// <summary>Datasets every ASTMT network accepts.</summary>
    public static readonly IReadOnlyList<string> Datasets = ["synthetic", "pascal-context", "nyud"];

    /// <summary>The quick default: 6 epochs of 160 synthetic 64×64 scenes, batch 8, base rate 0.01 (ten times the paper's: the reduced
    /// network learns visibly in a couple of minutes on two cores with every modulation on); the network is reduced there by the
    /// options' "auto" widths (encoder / 8, decoder 32). <c>--preset paper</c> restores 0.001.</summary>
    public static readonly IReadOnlyDictionary<string, string> QuickDefaults = new Dictionary<string, string>
    {
        ["epochs"] = "6",
        ["height"] = "64",
        ["width"] = "64",
        ["batch-size"] = "8",
        ["lr"] = "0.01",
        [$"options.{AstmtOptions.TrainSamplesName}"] = "160",
        [$"options.{AstmtOptions.EvalSamplesName}"] = "32",
    };

    /// <summary>The reference's PASCAL-Context settings (spec §5).</summary>
    public static readonly IReadOnlyDictionary<string, string> PaperPreset = new Dictionary<string, string>
    {
        ["dataset"] = "pascal-context",
        ["epochs"] = "60",
        ["height"] = "512",
        ["width"] = "512",
        ["batch-size"] = "8",
        ["lr"] = "0.001",
        [$"options.{AstmtOptions.WidthDivisorName}"] = "1",
        [$"options.{AstmtOptions.DecoderWidthName}"] = "64",
        [$"options.{AstmtOptions.OutputStrideName}"] = "16",
        [$"options.{AstmtOptions.SeEncoderName}"] = "true",
        [$"options.{AstmtOptions.SeDecoderName}"] = "true",
        [$"options.{AstmtOptions.AdaptersName}"] = "true",
        [$"options.{AstmtOptions.AdversarialName}"] = "true",
        [$"options.{AstmtOptions.AugmentName}"] = "true",
        [$"options.{AstmtOptions.TaskStepName}"] = "per-task",
    };

    /// <summary>Registers the three ASTMT networks.</summary>
    public static void Register(ExperimentRegistry registry)
    {
        foreach (string name in Names) registry.Register(Descriptor(name));
    }

    /// <summary>The descriptor of network <paramref name="name"/>.</summary>
    public static ExperimentDescriptor Descriptor(string name) => new()
    {
        Name = name,
        Summary = $"ASTMT, SE-ResNet-{name["astmt-r".Length..]} + DeepLab-v3+ run once per task, with task-specific SE, adapters and adversarial gradient alignment (Maninis et al., CVPR 2019)",
        Datasets = Datasets,
        Defaults = QuickDefaults,
        Presets = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["paper"] = PaperPreset },
        Options = AstmtOptions.All,
        Create = config => new AstmtExperiment(config),
    };
}
