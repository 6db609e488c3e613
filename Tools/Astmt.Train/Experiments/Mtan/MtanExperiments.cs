using Astmt.Models.Mtan;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>
/// The MTAN family as trainer experiments: one descriptor per network name of <see cref="MtanModels.Names"/>, all sharing the
/// quick default (a narrow network on small synthetic scenes that learns visibly in a few minutes on two cores) and the
/// <c>paper</c> preset (the reference's NYUv2 run: full width, 288×384, batch 2, Adam 1e-4 halved after 100 of 200 epochs).
/// </summary>
public static class MtanExperiments
{
    /// <summary>Datasets every MTAN network accepts.</summary>
    public static readonly IReadOnlyList<string> Datasets = ["synthetic", "nyuv2", "cityscapes"];

    /// <summary>The quick default, chosen by measurement (see the README): it must finish in well under ten minutes on two busy
    /// cores and improve every task's metrics clearly over the untrained network.</summary>
    public static readonly IReadOnlyDictionary<string, string> QuickDefaults = new Dictionary<string, string>
    {
        ["epochs"] = "6",
        ["height"] = "64",
        ["width"] = "64",
        ["batch-size"] = "8",
        ["lr"] = "0.001",
        [$"options.{MtanOptions.WidthMultiplier}"] = "0.125",
        [$"options.{MtanOptions.TrainSamples}"] = "240",
        [$"options.{MtanOptions.EvalSamples}"] = "48",
    };

    /// <summary>The paper's settings (spec §3: Adam 1e-4, StepLR(100, 0.5) per epoch, 200 epochs, batch 2, NYUv2 at 288×384).</summary>
    public static readonly IReadOnlyDictionary<string, string> PaperPreset = new Dictionary<string, string>
    {
        ["dataset"] = "nyuv2",
        ["epochs"] = "200",
        ["height"] = "288",
        ["width"] = "384",
        ["batch-size"] = "2",
        ["lr"] = "0.0001",
        [$"options.{MtanOptions.WidthMultiplier}"] = "1",
        [$"options.{MtanOptions.LrStep}"] = "100",
        [$"options.{MtanOptions.LrGamma}"] = "0.5",
        [$"options.{MtanOptions.MetricAveraging}"] = "per-batch",
    };

    /// <summary>The defaults on the real datasets: the paper's training (spec §3) at each dataset's size, NYUv2 288×384 and
    /// CityScapes 128×256, with the full-width network. They lie over <see cref="QuickDefaults"/> and the preset, so
    /// <c>--dataset cityscapes --preset paper</c> trains at CityScapes' size; the synthetic set keeps the quick default.</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> DatasetDefaults =
        new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            ["nyuv2"] = PaperTraining(288, 384),
            ["cityscapes"] = PaperTraining(128, 256),
        };

    private static Dictionary<string, string> PaperTraining(int height, int width) => new()
    {
        ["epochs"] = "200",
        ["height"] = height.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["width"] = width.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["batch-size"] = "2",
        ["lr"] = "0.0001",
        [$"options.{MtanOptions.WidthMultiplier}"] = "1",
        [$"options.{MtanOptions.LrStep}"] = "100",
        [$"options.{MtanOptions.LrGamma}"] = "0.5",
    };

    /// <summary>Registers every MTAN-family network.</summary>
    public static void Register(ExperimentRegistry registry)
    {
        foreach (string name in MtanModels.Names) registry.Register(Descriptor(name));
    }

    /// <summary>The descriptor of network <paramref name="name"/>.</summary>
    public static ExperimentDescriptor Descriptor(string name) => new()
    {
        Name = name,
        Summary = Summaries.TryGetValue(name, out var s) ? s : name,
        Datasets = Datasets,
        Defaults = QuickDefaults,
        DatasetDefaults = DatasetDefaults,
        Presets = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["paper"] = PaperPreset },
        Options = MtanOptions.All,
        Create = config => new MtanExperiment(config),
    };

    private static readonly Dictionary<string, string> Summaries = new()
    {
        ["mtan-segnet"] = "SegNet with task-specific attention modules (Liu et al., CVPR 2019)",
        ["stan"] = "MTAN with a single task branch (choose it with --task)",
        ["segnet-single"] = "Single-task SegNet (choose the task with --task)",
        ["segnet-split"] = "Multi-task SegNet split at the last layer, standard width",
        ["segnet-split-wide"] = "Multi-task split SegNet, wider last stage",
        ["segnet-split-deep"] = "Multi-task split SegNet, deeper stages",
        ["segnet-dense"] = "Dense baseline: one SegNet per task with dense connections",
        ["segnet-cross-stitch"] = "Cross-stitch network over per-task SegNets",
    };
}
