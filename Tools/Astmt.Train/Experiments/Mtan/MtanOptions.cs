using System.Globalization;
using Astmt.Models.Metrics;
using Astmt.Models.Mtan;
using Astmt.Train.Config;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>The MTAN experiments' own options (flags <c>--NAME</c>, or <c>options: NAME: value</c> in a config file), read and
/// checked once from a <see cref="RunConfig"/>.</summary>
public sealed record MtanOptions
{
    /// <summary>Option name of the filter width multiplier.</summary>
    public const string WidthMultiplier = "width-multiplier";
    /// <summary>Option name of the synthetic training-set size.</summary>
    public const string TrainSamples = "train-samples";
    /// <summary>Option name of the synthetic evaluation-set size.</summary>
    public const string EvalSamples = "eval-samples";
    /// <summary>Option name of the single-task networks' task.</summary>
    public const string Task = "task";
    /// <summary>Option name of the StepLR period in epochs.</summary>
    public const string LrStep = "lr-step";
    /// <summary>Option name of the StepLR factor.</summary>
    public const string LrGamma = "lr-gamma";
    /// <summary>Option name of the reference's scale-crop-flip augmentation switch.</summary>
    public const string Augment = "augment";
    /// <summary>Option name of the evaluation metrics' aggregation.</summary>
    public const string MetricAveraging = "metric-averaging";
    /// <summary>Option name of the DWA temperature.</summary>
    public const string DwaTemperature = "dwa-temperature";

    /// <summary>The options as the trainer offers them, with the quick default's values (<see cref="MtanExperiments.QuickDefaults"/>
    /// repeats them; <see cref="MtanExperiments.PaperPreset"/> overrides them).</summary>
    public static readonly IReadOnlyList<ModelOption> All =
    [
        new(WidthMultiplier, "MTAN: multiplies every filter width (1 = the paper's network, as --preset paper sets)", "0.125"),
        new(TrainSamples, "MTAN: training scenes of the synthetic dataset (nyuv2/cityscapes use every file)", "240"),
        new(EvalSamples, "MTAN: evaluation scenes of the synthetic dataset (nyuv2/cityscapes use every file)", "48"),
        new(Task, "MTAN: the task of the single-task networks segnet-single and stan", "semantic", ["semantic", "depth", "normal"]),
        new(LrStep, "MTAN: StepLR period in epochs (the learning rate is multiplied by lr-gamma every lr-step epochs)", "100"),
        new(LrGamma, "MTAN: StepLR factor", "0.5"),
        ModelOption.Switch(Augment, "MTAN: the reference's random scale-crop (1, 1.2, 1.5) and horizontal flip of training samples"),
        new(MetricAveraging, "MTAN: evaluation metric aggregation: whole-split (pooled pixels, true median) or per-batch (the reference's mean of batch values)",
            "whole-split", ["whole-split", "per-batch"]),
        new(DwaTemperature, "MTAN: temperature of --weighting dwa", "2"),
    ];

    /// <summary>Filter width multiplier.</summary>
    public required double Width { get; init; }
    /// <summary>Synthetic training scenes.</summary>
    public required int TrainCount { get; init; }
    /// <summary>Synthetic evaluation scenes.</summary>
    public required int EvalCount { get; init; }
    /// <summary>Task of the single-task networks.</summary>
    public required MtanTask SingleTask { get; init; }
    /// <summary>StepLR period in epochs.</summary>
    public required int LrStepEpochs { get; init; }
    /// <summary>StepLR factor.</summary>
    public required double LrGammaValue { get; init; }
    /// <summary>Scale-crop-flip augmentation of training samples.</summary>
    public required bool UseAugmentation { get; init; }
    /// <summary>How evaluation metrics are pooled.</summary>
    public required MetricAveraging Averaging { get; init; }
    /// <summary>DWA temperature.</summary>
    public required double Temperature { get; init; }

    /// <summary>Reads and checks the options of <paramref name="config"/>; a bad value is a <see cref="ConfigurationException"/>
    /// naming the flag and the accepted values.</summary>
    public static MtanOptions From(RunConfig config) => new()
    {
        Width = Positive(config, WidthMultiplier, "0.125", max: 4),
        TrainCount = (int)Positive(config, TrainSamples, "240", whole: true, max: 1_000_000),
        EvalCount = (int)Positive(config, EvalSamples, "48", whole: true, max: 1_000_000),
        SingleTask = config.Option(Task, "semantic") switch
        {
            "depth" => MtanTask.Depth,
            "normal" => MtanTask.Normal,
            _ => MtanTask.Semantic,
        },
        LrStepEpochs = (int)Positive(config, LrStep, "100", whole: true, max: int.MaxValue),
        LrGammaValue = Positive(config, LrGamma, "0.5", max: 1),
        UseAugmentation = config.OptionFlag(Augment),
        Averaging = config.Option(MetricAveraging, "whole-split") == "per-batch" ? Models.Metrics.MetricAveraging.PerBatchMean : Models.Metrics.MetricAveraging.WholeSplit,
        Temperature = Positive(config, DwaTemperature, "2", max: 1e6),
    };

    private static double Positive(RunConfig config, string name, string fallback, double max, bool whole = false)
    {
        string text = config.Option(name, fallback);
        bool ok = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && v <= max && double.IsFinite(v)
                  && (!whole || v == Math.Floor(v));
        if (!ok)
            throw new ConfigurationException($"--{name}: '{text}' is not valid; expected a {(whole ? "whole number" : "number")} > 0 and ≤ {max.ToString(CultureInfo.InvariantCulture)}.");
        return v;
    }
}
