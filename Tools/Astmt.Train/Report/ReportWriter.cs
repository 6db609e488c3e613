using System.Globalization;
using System.Text;
using Astmt.Train.Config;
using Astmt.Train.Experiments;
using Astmt.Train.IO;
using Astmt.Train.Output;
using Astmt.Train.Training;

namespace Astmt.Train.Report;

/// <summary>
/// report.html: one self-contained page (inline CSS and SVG, prediction PNGs embedded as data URIs) with the run's summary,
/// a loss plot and a plot per metric for every task, the final table, the prediction grids and the configuration. The markup
/// is well-formed XML so that tools (and the tests) can parse it.
/// </summary>
public static class ReportWriter
{
    private const string TrainColour = "#1f77b4", EvalColour = "#d62728";

    /// <summary>Writes the report of a run atomically.</summary>
    public static void Write(RunDirectory run, RunConfig config, IReadOnlyList<TaskInfo> tasks, IReadOnlyList<KeyValuePair<string, string>> facts,
        IReadOnlyList<EpochRecord> history, TrainerState? state) =>
        AtomicFile.WriteAllText(run.ReportPath, Build(run, config, tasks, facts, history, state));

    /// <summary>The report's HTML.</summary>
    public static string Build(RunDirectory run, RunConfig config, IReadOnlyList<TaskInfo> tasks, IReadOnlyList<KeyValuePair<string, string>> facts,
        IReadOnlyList<EpochRecord> history, TrainerState? state)
    {
        static string E(string s) => SvgPlot.Escape(s);
        var ci = CultureInfo.InvariantCulture;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
        html.Append(ci, $"<title>{E(config.Model)} on {E(config.Dataset)}: Astmt.Train report</title>\n");
        html.Append("<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}" +
                    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}" +
                    "td:first-child,th:first-child,td:nth-child(2){text-align:left}.plots{display:flex;flex-wrap:wrap;gap:12px}" +
                    "pre{background:#f6f6f6;padding:1em}img{image-rendering:pixelated;min-width:240px;max-width:100%}</style>\n</head>\n<body>\n");
        html.Append(ci, $"<h1>{E(config.Model)} on {E(config.Dataset)}</h1>\n");

        html.Append("<table class=\"summary\">\n");
        void Fact(string k, string v) => html.Append(ci, $"<tr><th>{E(k)}</th><td>{E(v)}</td></tr>\n");
        Fact("run directory", Path.GetFullPath(run.Root));
        Fact("epochs finished", $"{history.Count} of {config.Epochs}");
        if (state?.BestScore is { } best) Fact("best epoch (lowest eval loss sum)", $"{state.BestEpoch} ({best.ToString("F4", ci)})");
        if (history.Count > 0) Fact("last epoch throughput", $"{history[^1].ImagesPerSecond.ToString("F1", ci)} img/s");
        foreach (var (k, v) in facts) Fact(k, v);
        html.Append("</table>\n");

        foreach (var task in tasks)
        {
            html.Append(ci, $"<section class=\"task\" data-task=\"{E(task.Name)}\">\n<h2>{E(task.Name)}</h2>\n<div class=\"plots\">\n");
            html.Append(SvgPlot.Lines($"{task.Name}: loss", "epoch",
            [
                new PlotSeries("train", TrainColour, history.Select(r => ((double)r.Epoch, Value(r.TrainLoss, task.Name))).ToList()),
                new PlotSeries("eval", EvalColour, history.Select(r => ((double)r.Epoch, Value(r.EvalLoss, task.Name))).ToList()),
            ], $"{task.Name}/loss")).Append('\n');
            foreach (var metric in task.Metrics)
            {
                var series = new List<PlotSeries>();
                if (history.Any(r => r.TrainMetrics.ContainsKey(task.Name)))
                    series.Add(new PlotSeries("train", TrainColour, history.Select(r => ((double)r.Epoch, Value(r.TrainMetrics, task.Name, metric.Name))).ToList()));
                series.Add(new PlotSeries("eval", EvalColour, history.Select(r => ((double)r.Epoch, Value(r.EvalMetrics, task.Name, metric.Name))).ToList()));
                string direction = metric.HigherIsBetter ? "higher is better" : "lower is better";
                html.Append(SvgPlot.Lines($"{task.Name}: {metric.Name} ({direction})", "epoch", series, $"{task.Name}/{metric.Name}")).Append('\n');
            }
            html.Append("</div>\n");
            string png = Path.Combine(run.PredictionsFolder, task.Name + ".png");
            if (File.Exists(png))
                html.Append(ci, $"<h3>Predictions (input | prediction | ground truth)</h3>\n<img alt=\"{E(task.Name)} predictions\" src=\"data:image/png;base64,{Convert.ToBase64String(File.ReadAllBytes(png))}\"/>\n");
            html.Append("</section>\n");
        }

        if (history.Count > 0) AppendFinalTable(html, tasks, history[^1]);

        html.Append("<h2>Configuration</h2>\n<pre>").Append(E(YamlConfig.ToYaml(config))).Append("</pre>\n");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static void AppendFinalTable(StringBuilder html, IReadOnlyList<TaskInfo> tasks, EpochRecord last)
    {
        static string E(string s) => SvgPlot.Escape(s);
        html.Append($"<h2>Final epoch ({last.Epoch})</h2>\n<table class=\"final\">\n<tr><th>task</th><th>measure</th><th>train</th><th>eval</th>");
        if (last.TaskWeights != null) html.Append("<th>weight</th>");
        html.Append("</tr>\n");
        foreach (var task in tasks)
        {
            html.Append($"<tr><td>{E(task.Name)}</td><td>loss</td><td>{MetricsTable.Number(Value(last.TrainLoss, task.Name))}</td><td>{MetricsTable.Number(Value(last.EvalLoss, task.Name))}</td>");
            if (last.TaskWeights != null) html.Append($"<td>{MetricsTable.Number(Value(last.TaskWeights, task.Name))}</td>");
            html.Append("</tr>\n");
            foreach (var m in task.Metrics)
            {
                html.Append($"<tr><td></td><td>{E(m.Name)}</td><td>{MetricsTable.Number(Nullable(last.TrainMetrics, task.Name, m.Name))}</td><td>{MetricsTable.Number(Nullable(last.EvalMetrics, task.Name, m.Name))}</td>");
                if (last.TaskWeights != null) html.Append("<td></td>");
                html.Append("</tr>\n");
            }
        }
        html.Append("</table>\n");
        if (last.MetricNote != null) html.Append($"<p>{E(last.MetricNote)}</p>\n");
    }

    private static double Value(IReadOnlyDictionary<string, double> values, string key) => values.TryGetValue(key, out var v) ? v : double.NaN;

    private static double Value(Dictionary<string, Dictionary<string, double>> values, string task, string metric) =>
        Nullable(values, task, metric) ?? double.NaN;

    private static double? Nullable(Dictionary<string, Dictionary<string, double>> values, string task, string metric) =>
        values.TryGetValue(task, out var m) && m.TryGetValue(metric, out var v) ? v : null;
}
