using System.Text.Json;
using System.Text.Json.Serialization;

namespace Astmt.Train.Training;

/// <summary>
/// Where the loop is, saved in every checkpoint next to the experiment's state: with it and the seed, the trainer replays the
/// same sample order from the same position, and the epoch's running loss sums continue exactly.
/// </summary>
public sealed class TrainerState
{
    /// <summary>Zero-based epoch to run (or continue) next.</summary>
    public int Epoch { get; set; }

    /// <summary>Batches of <see cref="Epoch"/> already done.</summary>
    public int StepInEpoch { get; set; }

    /// <summary>Batches done since the start of training.</summary>
    public long GlobalStep { get; set; }

    /// <summary>Per-task sums of (batch loss × batch images) over the epoch so far.</summary>
    public Dictionary<string, double> LossSums { get; set; } = [];

    /// <summary>Training images seen in the epoch so far.</summary>
    public long ImagesInEpoch { get; set; }

    /// <summary>Seconds spent training in the epoch so far (for throughput after a resume).</summary>
    public double EpochSeconds { get; set; }

    /// <summary>Lowest evaluation total loss so far, or null before the first evaluation.</summary>
    public double? BestScore { get; set; }

    /// <summary>One-based epoch of <see cref="BestScore"/>.</summary>
    public int BestEpoch { get; set; }

    /// <summary>Why the checkpoint was written: <c>epoch</c>, <c>interrupt</c> or <c>nan</c>.</summary>
    public string Reason { get; set; } = "epoch";

    /// <summary>The configuration hash of the run that wrote it.</summary>
    public string ConfigHash { get; set; } = "";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    /// <summary>The state as JSON (doubles round-trip exactly).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses <see cref="ToJson"/> output.</summary>
    public static TrainerState FromJson(string json) =>
        JsonSerializer.Deserialize<TrainerState>(json, Json) ?? throw new JsonException("The trainer state is null.");

    /// <summary>A deep copy.</summary>
    public TrainerState Clone() => FromJson(ToJson());
}
