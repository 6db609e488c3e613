using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using Astmt.Engine.IO;
using Astmt.Train.Config;
using Astmt.Train.Output;
using Astmt.Train.Tests.Support;
using Astmt.Train.Training;

namespace Astmt.Train.Tests;

/// <summary>End to end at a tiny size with the <see cref="TinyExperiment"/> test double: the run directory, the console
/// output, the report, eval and predict.</summary>
public sealed class TrainingRunTests
{
    private TempDir _dir = null!;
    private string Run => _dir["run"];

    [SetUp]
    public void SetUp() => _dir = new TempDir();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private CliResult Train(params string[] extra) =>
        CliRunner.Run(TestRegistry.Create(), ["train", "--model", "tiny", "--epochs", "2", "--out", Run, .. extra]);

    [Test]
    public void Train_WritesEveryPartOfTheRunDirectory()
    {
        var r = Train();
        Assert.That(r.ExitCode, Is.Zero, r.ToString());

        var config = YamlConfig.Read(Path.Combine(Run, "config.yaml"));
        Assert.That(config.Values["model"].Text, Is.EqualTo("tiny"));
        Assert.That(config.Values["epochs"].Text, Is.EqualTo("2"));

        var lines = File.ReadAllLines(Path.Combine(Run, "metrics.jsonl"));
        Assert.That(lines, Has.Length.EqualTo(2));
        var records = MetricsLog.Read(Path.Combine(Run, "metrics.jsonl"));
        Assert.That(records.Select(x => x.Epoch), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(records[1].GlobalStep, Is.EqualTo(8), "10 samples in batches of 3 → 4 steps per epoch");
        Assert.That(records[1].EvalLoss.Keys, Is.EquivalentTo(new[] { "semantic", "depth" }));
        Assert.That(records[1].EvalMetrics["semantic"].Keys, Is.EquivalentTo(new[] { "acc" }));
        Assert.That(records[1].TrainLoss["depth"], Is.LessThan(records[0].TrainLoss["depth"]), "the updates are applied: depth regression improves");

        string checkpoints = Path.Combine(Run, "checkpoints");
        Assert.That(File.ReadAllText(Path.Combine(checkpoints, "last")).Trim(), Is.EqualTo("epoch-0002"));
        string best = File.ReadAllText(Path.Combine(checkpoints, "best")).Trim();
        Assert.That(best, Is.EqualTo(records[0].EvalTotalLoss < records[1].EvalTotalLoss ? "epoch-0001" : "epoch-0002"));
        var kept = Directory.GetFiles(checkpoints, "*.safetensors").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        Assert.That(kept, Is.EquivalentTo(new HashSet<string?> { "epoch-0002", best }), "checkpoints no pointer names are pruned");

        using var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpoints, "epoch-0002.json")));
        Assert.That(meta.RootElement.GetProperty("epoch").GetInt32(), Is.EqualTo(2));
        Assert.That(meta.RootElement.GetProperty("global_step").GetInt64(), Is.EqualTo(8));
        string hash = ConfigResolver.Resolve(TestRegistry.Create(), new ConfigLayer(), config, DateTime.Now).Hash();
        Assert.That(meta.RootElement.GetProperty("config_hash").GetString(), Is.EqualTo(hash));

        var file = SafeTensors.Load(Path.Combine(checkpoints, "epoch-0002.safetensors"));
        Assert.That(file.Keys, Does.Contain("model.seg.weight").And.Contain("optim.seg.momentum").And.Contain("rng.augment"));
        Assert.That(file.Metadata[CheckpointStore.HashKey], Is.EqualTo(hash));

        foreach (var task in new[] { "semantic", "depth" })
        {
            var (w, h, _) = MiniPngReader.Decode(File.ReadAllBytes(Path.Combine(Run, "predictions", task + ".png")));
            Assert.That((w, h), Is.EqualTo((3 * 4 + 4 * 2, 4 * (4 + 2) + 2)), "4 samples of 4x4, three tiles a row");
        }
        Assert.That(Directory.GetFiles(Run, "*.tmp", SearchOption.AllDirectories), Is.Empty, "no temporary files are left");
    }

    [Test]
    public void Console_WithoutATerminal_PrintsPlainProgressAndTables()
    {
        var r = Train("--weighting", "dwa");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Output, Does.Not.Contain("\u001b["), "no ANSI escapes when output is not a terminal");
        Assert.That(r.Output, Does.Contain("epoch 1/2  10/10 images").And.Contain("img/s").And.Contain("ETA"));
        Assert.That(r.Output, Does.Contain("semantic=").And.Contain("depth="), "running losses in progress lines");
        Assert.That(r.Output, Does.Contain("weight"), "DWA shows the weight column");
        Assert.That(r.Output, Does.Contain("abs_err").And.Contain("acc"));
        Assert.That(r.Output, Does.Contain("Results are in").And.Contain("report.html"));
    }

    [Test]
    public void Console_OnATerminal_DrawsLiveBarsWithRateAndEta()
    {
        static RunConsole Terminal(TextWriter w) => new(Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Ansi = Spectre.Console.AnsiSupport.Yes,
            ColorSystem = Spectre.Console.ColorSystemSupport.TrueColor,
            Interactive = Spectre.Console.InteractionSupport.Yes,
            Out = new Spectre.Console.AnsiConsoleOutput(w),
        }), live: true);
        var r = CliRunner.Run(TestRegistry.Create(), CancellationToken.None, Terminal,
            "train", "--model", "tiny", "--epochs", "2", "--out", Run, "--weighting", "dwa");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Output, Does.Contain("\u001b["), "ANSI rendering");
        Assert.That(r.Output, Does.Contain("img/s").And.Contain("epoch 2/2").And.Contain("100%"));
        Assert.That(r.Output, Does.Contain("weight").And.Contain("abs_err"), "the epoch table");
    }

    [Test]
    public void Report_IsWellFormedHtml_WithPlotsPerTask_TheConfigAndTheFinalTable()
    {
        Assert.That(Train().ExitCode, Is.Zero);
        string html = File.ReadAllText(Path.Combine(Run, "report.html"));
        Assert.That(html, Does.StartWith("<!DOCTYPE html>"));
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore };
        using var reader = XmlReader.Create(new StringReader(html), settings);
        var doc = XDocument.Load(reader);

        XNamespace svg = "http://www.w3.org/2000/svg";
        var sections = doc.Descendants("section").ToDictionary(s => (string)s.Attribute("data-task")!);
        Assert.That(sections.Keys, Is.EquivalentTo(new[] { "semantic", "depth" }));
        foreach (var (task, section) in sections)
        {
            var plots = section.Descendants(svg + "svg").Select(s => (string?)s.Attribute("data-plot")).ToList();
            Assert.That(plots, Does.Contain($"{task}/loss"), $"{task} has a loss plot");
            Assert.That(section.Descendants(svg + "polyline").Count(), Is.GreaterThanOrEqualTo(2), $"{task} plots have curves");
            Assert.That(section.Descendants("img").Single().Attribute("src")!.Value, Does.StartWith("data:image/png;base64,"), "predictions are embedded");
        }
        Assert.That(doc.Descendants("pre").Single().Value, Does.Contain("model: tiny").And.Contain("epochs: 2"));
        var final = doc.Descendants("table").Single(t => (string?)t.Attribute("class") == "final");
        Assert.That(final.Descendants("td").Select(td => td.Value), Does.Contain("abs_err"));
        Assert.That(html, Does.Not.Contain("<script"), "self-contained: no scripts");
        Assert.That(html.Replace("http://www.w3.org/2000/svg", ""), Does.Not.Contain("http://").And.Not.Contain("https://"));
    }

    [Test]
    public void Eval_And_Predict_UseARunDirectoryBestCheckpoint()
    {
        Assert.That(Train().ExitCode, Is.Zero);
        string json = _dir["eval.json"];
        var eval = CliRunner.Run(TestRegistry.Create(), "eval", "--model", "tiny", "--weights", Run, "--json", json);
        Assert.That(eval.ExitCode, Is.Zero, eval.ToString());
        Assert.That(eval.Output, Does.Contain("acc ↑").And.Contain("abs_err ↓"));

        var records = MetricsLog.Read(Path.Combine(Run, "metrics.jsonl"));
        var best = records.MinBy(x => x.EvalTotalLoss)!;
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.That(doc.RootElement.GetProperty("metrics").GetProperty("depth").GetProperty("abs_err").GetDouble(),
            Is.EqualTo(best.EvalMetrics["depth"]["abs_err"]), "eval of the best checkpoint reproduces that epoch's metric");

        string predictions = _dir["pred"];
        var predict = CliRunner.Run(TestRegistry.Create(), "predict", "--model", "tiny", "--weights", Path.Combine(Run, "checkpoints", "epoch-0002.safetensors"),
            "--out", predictions, "--prediction-samples", "2");
        Assert.That(predict.ExitCode, Is.Zero, predict.ToString());
        var (_, h, _) = MiniPngReader.Decode(File.ReadAllBytes(Path.Combine(predictions, "predictions", "depth.png")));
        Assert.That(h, Is.EqualTo(2 * (4 + 2) + 2));

        Assert.That(Directory.GetFiles(Path.Combine(predictions, "semantic"), "*.npy"), Has.Length.EqualTo(6), "raw outputs for every eval sample");
        var logp = Astmt.Models.Data.Npy.NpyReader.Read(Path.Combine(predictions, "semantic", "5.npy"));
        Assert.That(logp.Shape, Is.EqualTo(new[] { 2, 4, 4 }), "channels first");
        var values = new float[logp.Count];
        logp.CopyTo(values);
        for (int i = 0; i < 16; i++)
            Assert.That(Math.Exp(values[i]) + Math.Exp(values[16 + i]), Is.EqualTo(1).Within(1e-5), "log-probabilities over the class axis");
    }

    [Test]
    public void Train_IntoAnExistingRun_IsRefused()
    {
        Assert.That(Train().ExitCode, Is.Zero);
        var again = Train();
        Assert.That(again.ExitCode, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(again.Error, Does.Contain("already holds a run with checkpoints; continue it with 'resume"));
    }
}
