using System.Globalization;
using System.Text.Json;
using Astmt.Train.Experiments;
using Astmt.Train.IO;
using Astmt.Train.Output;
using Spectre.Console;

namespace Astmt.Train.Training;

/// <summary>
/// The untrained network's evaluation ("epoch 0"), taken before the first step of a new run and kept in the run directory as
/// <c>eval-before.json</c>, so the end of the run (also a resumed one) can show every metric before and after training.
/// </summary>
public static class BaselineEvaluation
{
    /// <summary>File name of the baseline in the run directory.</summary>
    public const string FileName = "eval-before.json";

    /// <summary>The baseline's path in <paramref name="run"/>.</summary>
    public static string PathIn(RunDirectory run) => Path.Combine(run.Root, FileName);

    /// <summary>Evaluates the untrained experiment, prints the table and writes the file. Evaluation draws no training randomness,
    /// so the run that follows is the same as without it.</summary>
    public static EvaluationResult Run(IExperiment experiment, int batchSize, RunDirectory run, RunConsole console)
    {
        var result = Evaluator.Run(experiment, batchSize, console, "eval  0 (untrained)");
        var table = EvaluationTable.Build(experiment.Tasks, result).Title("before training (epoch 0)");
        console.Write(table);
        var json = new Dictionary<string, object?> { ["eval_loss"] = result.Losses, ["eval_metrics"] = result.Metrics, ["note"] = result.Note };
        AtomicFile.WriteAllText(PathIn(run), JsonSerializer.Serialize(json, EpochRecord.Json) + "\n");
        return result;
    }

    /// <summary>The baseline's eval metrics per task, or null when the run has none.</summary>
    public static Dictionary<string, Dictionary<string, double>>? Read(RunDirectory run)
    {
        string path = PathIn(run);
        if (!File.Exists(path)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("eval_metrics").Deserialize<Dictionary<string, Dictionary<string, double>>>(EpochRecord.Json);
    }

    /// <summary>Prints, per task and metric, the value before training, after the last epoch, and whether it improved.</summary>
    public static void PrintComparison(RunDirectory run, IReadOnlyList<TaskInfo> tasks, EpochRecord last, RunConsole console)
    {
        var before = Read(run);
        if (before == null) return;
        var ci = CultureInfo.InvariantCulture;
        var table = new Table().Border(TableBorder.Rounded).Title($"eval metrics before training and after epoch {last.Epoch}")
            .AddColumn("task").AddColumn("metric").AddColumn(new TableColumn("before").RightAligned())
            .AddColumn(new TableColumn("after").RightAligned()).AddColumn("");
        foreach (var task in tasks)
        {
            bool first = true;
            foreach (var m in task.Metrics)
            {
                double? b = before.TryGetValue(task.Name, out var tb) && tb.TryGetValue(m.Name, out var x) ? x : null;
                double? a = last.EvalMetrics.TryGetValue(task.Name, out var ta) && ta.TryGetValue(m.Name, out var y) ? y : null;
                string verdict = b is { } bv && a is { } av && double.IsFinite(bv) && double.IsFinite(av)
                    ? ((m.HigherIsBetter ? av > bv : av < bv) ? "better" : "not better")
                    : "";
                table.AddRow(first ? Markup.Escape(task.Name) : "", Markup.Escape(m.Name + (m.HigherIsBetter ? " ↑" : " ↓")),
                    b?.ToString("F4", ci) ?? "n/a", a?.ToString("F4", ci) ?? "n/a", verdict);
                first = false;
            }
        }
        console.Write(table);
    }
}
