using System.Text.Json;
using System.Text.Json.Serialization;

namespace Astmt.Train.Training;

/// <summary>What one epoch produced: one line of metrics.jsonl.</summary>
public sealed class EpochRecord
{
    /// <summary>One-based epoch number.</summary>
    public int Epoch { get; init; }

    /// <summary>Optimizer steps taken since the start of training, after this epoch.</summary>
    public long GlobalStep { get; init; }

    /// <summary>Mean unweighted training loss per task.</summary>
    public Dictionary<string, double> TrainLoss { get; init; } = [];

    /// <summary>Training metrics per task (empty when the experiment does not track them).</summary>
    public Dictionary<string, Dictionary<string, double>> TrainMetrics { get; init; } = [];

    /// <summary>Mean evaluation loss per task.</summary>
    public Dictionary<string, double> EvalLoss { get; init; } = [];

    /// <summary>Evaluation metrics per task.</summary>
    public Dictionary<string, Dictionary<string, double>> EvalMetrics { get; init; } = [];

    /// <summary>Task weights used during the epoch, or null for equal weighting.</summary>
    public Dictionary<string, double>? TaskWeights { get; init; }

    /// <summary>How the evaluation metrics were computed, if the experiment says.</summary>
    public string? MetricNote { get; init; }

    /// <summary>Training throughput of the epoch.</summary>
    public double ImagesPerSecond { get; init; }

    /// <summary>Wall time of the epoch's training and evaluation, in seconds.</summary>
    public double Seconds { get; init; }

    /// <summary>The JSON options of metrics.jsonl: snake_case names, NaN written as "NaN", one line per record.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    /// <summary>The sum of the evaluation losses, the score that picks the <c>best</c> checkpoint (lower is better).</summary>
    [JsonIgnore]
    public double EvalTotalLoss => EvalLoss.Values.Sum();
}
