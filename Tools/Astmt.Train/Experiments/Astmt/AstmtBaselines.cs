using System.Globalization;
using System.Text.Json;
using Astmt.Models.Astmt;
using Astmt.Models.Metrics;

namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>
/// Single-task results for Δm (spec §4): per task, the value of its primary metric (edge odsF, mIoU, normals mean angle, saliency
/// max-mIoU, depth RMSE) read from JSON files — the output of <c>eval --json</c> of a single-task run (<c>--tasks edge</c>), whose
/// <c>metrics</c> object maps task → metric → value, or such a mapping on its own. Later files override earlier ones.
/// </summary>
public sealed class AstmtBaselines
{
    private readonly Dictionary<string, double> _values = new(StringComparer.Ordinal);

    /// <summary>No baselines.</summary>
    public static AstmtBaselines None { get; } = new();

    /// <summary>Per task, the baseline value of its primary metric.</summary>
    public IReadOnlyDictionary<string, double> Values => _values;

    /// <summary>Reads <paramref name="files"/> for <paramref name="tasks"/>; a missing or malformed file names itself and the flag.</summary>
    public static AstmtBaselines Load(IReadOnlyList<string> files, IReadOnlyList<AstmtTask> tasks)
    {
        var result = new AstmtBaselines();
        foreach (var file in files)
        {
            if (!File.Exists(file))
                throw new ConfigurationException($"--{AstmtOptions.BaselinesName}: '{file}' does not exist; expected a JSON file written by 'eval --json'.");
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(file));
                var root = doc.RootElement;
                var metrics = root.TryGetProperty("metrics", out var m) ? m : root;
                if (metrics.ValueKind != JsonValueKind.Object) throw new JsonException("'metrics' is not an object");
                foreach (var task in tasks)
                {
                    if (!metrics.TryGetProperty(task.Name, out var taskMetrics)) continue;
                    var (name, _) = AstmtMetricNames.Primary(task.Kind);
                    if (taskMetrics.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number)
                        result._values[task.Name] = value.GetDouble();
                }
            }
            catch (JsonException e)
            {
                throw new ConfigurationException($"--{AstmtOptions.BaselinesName}: '{file}' is not valid JSON of task → metric → value ({e.Message}).", e);
            }
        }
        return result;
    }

    /// <summary>Δm in % (positive = worse than the single-task networks) over the tasks with a baseline and a finite result, with a
    /// line saying which tasks entered; null without baselines.</summary>
    public string? Describe(IReadOnlyList<AstmtTask> tasks, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> metrics)
    {
        if (_values.Count == 0) return null;
        var comparisons = new List<TaskMetricComparison>();
        foreach (var task in tasks)
        {
            var (name, lower) = AstmtMetricNames.Primary(task.Kind);
            if (_values.TryGetValue(task.Name, out double b) && metrics.TryGetValue(task.Name, out var m) && m.TryGetValue(name, out double v)
                && double.IsFinite(v) && b != 0)
                comparisons.Add(new TaskMetricComparison($"{task.Name} {name}", b, v, lower));
        }
        if (comparisons.Count == 0) return "Δm: no task has both a baseline and a result";
        double dm = MultiTaskPerformance.DropPercent(comparisons);
        return string.Create(CultureInfo.InvariantCulture,
            $"Δm {dm:+0.00;-0.00;0.00}% vs single-task (positive = worse) over {string.Join(", ", comparisons.Select(c => c.Name))}");
    }
}
