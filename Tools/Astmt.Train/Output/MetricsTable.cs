using System.Globalization;
using Astmt.Train.Experiments;
using Astmt.Train.Training;
using Spectre.Console;

namespace Astmt.Train.Output;

/// <summary>The epoch-end table: per task, the loss and each metric, train and eval, with the change since the previous
/// epoch, and the task weight when weighting is not equal.</summary>
public static class MetricsTable
{
    /// <summary>The table for <paramref name="current"/>; <paramref name="previous"/> (or null for the first epoch) gives the changes.</summary>
    public static Table Build(IReadOnlyList<TaskInfo> tasks, EpochRecord current, EpochRecord? previous, bool colour)
    {
        bool weights = current.TaskWeights != null;
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"epoch {current.Epoch}")
            .AddColumn("task").AddColumn("measure")
            .AddColumn(new TableColumn("train").RightAligned()).AddColumn(new TableColumn("Δ").RightAligned())
            .AddColumn(new TableColumn("eval").RightAligned()).AddColumn(new TableColumn("Δ").RightAligned());
        if (weights) table.AddColumn(new TableColumn("weight").RightAligned());

        foreach (var task in tasks)
        {
            var row = new List<string>
            {
                Markup.Escape(task.Name), "loss",
                Number(Get(current.TrainLoss, task.Name)), Change(Get(current.TrainLoss, task.Name), previous == null ? null : Get(previous.TrainLoss, task.Name), higherIsBetter: false, colour),
                Number(Get(current.EvalLoss, task.Name)), Change(Get(current.EvalLoss, task.Name), previous == null ? null : Get(previous.EvalLoss, task.Name), higherIsBetter: false, colour),
            };
            if (weights) row.Add(Number(Get(current.TaskWeights!, task.Name)));
            table.AddRow(row.ToArray());

            foreach (var metric in task.Metrics)
            {
                double? train = Get(current.TrainMetrics, task.Name, metric.Name), eval = Get(current.EvalMetrics, task.Name, metric.Name);
                var metricRow = new List<string>
                {
                    "", Markup.Escape(metric.Name),
                    Number(train), Change(train, previous == null ? null : Get(previous.TrainMetrics, task.Name, metric.Name), metric.HigherIsBetter, colour),
                    Number(eval), Change(eval, previous == null ? null : Get(previous.EvalMetrics, task.Name, metric.Name), metric.HigherIsBetter, colour),
                };
                if (weights) metricRow.Add("");
                table.AddRow(metricRow.ToArray());
            }
        }
        var caption = new List<string>();
        caption.Add(string.Create(CultureInfo.InvariantCulture, $"{current.ImagesPerSecond:F1} img/s, {current.Seconds:F1} s"));
        if (current.MetricNote != null) caption.Add(Markup.Escape(current.MetricNote));
        table.Caption(string.Join("; ", caption));
        return table;
    }

    /// <summary>A number with four decimals (one above 1000); "n/a" when missing, "nan" for NaN.</summary>
    public static string Number(double? v) => v switch
    {
        null => "n/a",
        double d when double.IsNaN(d) => "nan",
        double d when Math.Abs(d) >= 1000 => d.ToString("F1", CultureInfo.InvariantCulture),
        double d => d.ToString("F4", CultureInfo.InvariantCulture),
    };

    private static string Change(double? now, double? before, bool higherIsBetter, bool colour)
    {
        if (now is not { } a || before is not { } b || !double.IsFinite(a) || !double.IsFinite(b)) return "";
        double d = a - b;
        string text = d.ToString("+0.0000;-0.0000;0.0000", CultureInfo.InvariantCulture);
        if (!colour || d == 0) return text;
        bool better = higherIsBetter ? d > 0 : d < 0;
        return better ? $"[green]{text}[/]" : $"[red]{text}[/]";
    }

    private static double? Get(IReadOnlyDictionary<string, double> values, string task) => values.TryGetValue(task, out var v) ? v : null;

    private static double? Get(Dictionary<string, Dictionary<string, double>> values, string task, string metric) =>
        values.TryGetValue(task, out var m) && m.TryGetValue(metric, out var v) ? v : null;
}

/// <summary>The table of a standalone evaluation (the <c>eval</c> command).</summary>
public static class EvaluationTable
{
    /// <summary>Per task, the loss and every metric of <paramref name="result"/>.</summary>
    public static Table Build(IReadOnlyList<TaskInfo> tasks, EvaluationResult result)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("evaluation")
            .AddColumn("task").AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        foreach (var task in tasks)
        {
            table.AddRow(Markup.Escape(task.Name), "loss", MetricsTable.Number(result.Losses.TryGetValue(task.Name, out var l) ? l : null));
            foreach (var m in task.Metrics)
            {
                double? v = result.Metrics.TryGetValue(task.Name, out var tm) && tm.TryGetValue(m.Name, out var x) ? x : null;
                table.AddRow("", Markup.Escape(m.Name + (m.HigherIsBetter ? " ↑" : " ↓")), MetricsTable.Number(v));
            }
        }
        if (result.Note != null) table.Caption(Markup.Escape(result.Note));
        return table;
    }
}
