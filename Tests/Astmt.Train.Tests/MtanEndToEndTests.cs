using System.Text.Json;
using System.Xml;
using System.Xml.Linq;
using Astmt.Engine.IO;
using Astmt.Train.Experiments;
using Astmt.Train.Tests.Support;
using Astmt.Train.Training;

namespace Astmt.Train.Tests;

/// <summary>
/// The shipped MTAN experiment through the real command line at a tiny size (32×32 synthetic scenes, filters divided by 16,
/// 8 training and 4 evaluation scenes, one thread): the run directory's files, exact resume after an interruption (the oracle
/// is an uninterrupted run), eval of a checkpoint against the logged metrics, and the error cases with their exit codes.
/// </summary>
[NonParallelizable]
public sealed class MtanEndToEndTests
{
    private TempDir _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDir();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static readonly string[] TinyFlags =
    [
        "--model", "mtan-segnet", "--height", "32", "--width", "32", "--width-multiplier", "0.0625",
        "--train-samples", "8", "--eval-samples", "4", "--batch-size", "4", "--threads", "1", "--seed", "5",
    ];

    /// <summary><see cref="TinyFlags"/> with the flag/value pairs and switches of <paramref name="extra"/> replacing or adding to them.</summary>
    private static string[] Flags(params string[] extra)
    {
        var list = TinyFlags.ToList();
        for (int i = 0; i < extra.Length; i++)
        {
            bool hasValue = i + 1 < extra.Length && !extra[i + 1].StartsWith("--", StringComparison.Ordinal);
            int at = list.IndexOf(extra[i]);
            if (at >= 0 && hasValue) list[at + 1] = extra[++i];
            else if (hasValue) { list.Add(extra[i]); list.Add(extra[++i]); }
            else list.Add(extra[i]);
        }
        return [.. list];
    }

    private static string[] Train(string run, int epochs, params string[] extra) =>
        ["train", .. Flags(extra), "--epochs", epochs.ToString(), "--out", run];

    private static CliResult Run(params string[] args) => CliRunner.Run(ExperimentRegistry.CreateDefault(), args);

    [Test]
    public void TwoEpochs_WriteAWellFormedRunDirectory()
    {
        string run = _dir["run"];
        var result = Run(Train(run, 2, "--prediction-samples", "2"));
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Output, Does.Contain("before training (epoch 0)").And.Contain("Results are in").And.Contain("report.html"));

        Assert.That(File.ReadAllText(Path.Combine(run, "config.yaml")), Does.Contain("model: mtan-segnet").And.Contain("width-multiplier: 0.0625"));
        var records = MetricsLog.Read(Path.Combine(run, "metrics.jsonl"));
        Assert.That(records.Select(r => r.Epoch), Is.EqualTo(new[] { 1, 2 }));
        string[] expectedMetrics = ["semantic/mIoU", "semantic/pix_acc", "depth/abs_err", "depth/rel_err", "normal/mean_deg",
            "normal/median_deg", "normal/within_11.25", "normal/within_22.5", "normal/within_30"];
        foreach (var r in records)
        {
            Assert.That(r.TrainLoss.Keys, Is.EquivalentTo(new[] { "semantic", "depth", "normal" }));
            Assert.That(r.TrainLoss.Values.Concat(r.EvalLoss.Values), Has.All.Matches<double>(double.IsFinite));
            var eval = r.EvalMetrics.SelectMany(t => t.Value.Select(m => ($"{t.Key}/{m.Key}", m.Value))).ToDictionary(p => p.Item1, p => p.Value);
            Assert.That(eval.Keys, Is.EquivalentTo(expectedMetrics));
            Assert.That(eval.Values, Has.All.Matches<double>(double.IsFinite));
            Assert.That(eval["semantic/pix_acc"], Is.InRange(0.0, 1.0));
            Assert.That(eval["normal/mean_deg"], Is.InRange(0.0, 180.0));
            Assert.That(r.MetricNote, Does.Contain("whole-split"));
        }
        foreach (var line in File.ReadAllLines(Path.Combine(run, "metrics.jsonl")))
            Assert.DoesNotThrow(() => JsonDocument.Parse(line).Dispose(), line);

        var before = BaselineEvaluation.Read(new RunDirectory(run));
        Assert.That(before, Is.Not.Null);
        Assert.That(before!.Keys, Is.EquivalentTo(new[] { "semantic", "depth", "normal" }));

        string checkpoints = Path.Combine(run, "checkpoints");
        Assert.That(File.ReadAllText(Path.Combine(checkpoints, "last")).Trim(), Is.EqualTo("epoch-0002"));
        var state = SafeTensors.LoadAll(Path.Combine(checkpoints, "epoch-0002.safetensors"));
        Assert.That(state.Keys, Has.Some.StartsWith("model.encoder_block.0.0.weight"));
        Assert.That(state.Keys, Has.Some.Matches<string>(k => k.StartsWith("optim.state.", StringComparison.Ordinal) && k.EndsWith(".exp_avg_sq", StringComparison.Ordinal)));
        Assert.That(state.Keys, Does.Contain("rng.augment").And.Contain("metrics.train").And.Contain("optim.schedule.last_epoch"));

        var html = File.ReadAllText(Path.Combine(run, "report.html"));
        var doc = XDocument.Load(XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore }));
        var sections = doc.Descendants().Where(e => e.Name.LocalName == "section" && e.Attribute("data-task") != null).ToList();
        Assert.That(sections.Select(s => s.Attribute("data-task")!.Value), Is.EqualTo(new[] { "semantic", "depth", "normal" }), "one section per task");
        foreach (var s in sections)
            Assert.That(s.Descendants().Count(e => e.Name.LocalName == "svg"), Is.GreaterThanOrEqualTo(1), "each task has its plots");

        foreach (var task in new[] { "semantic", "depth", "normal" })
        {
            var png = File.ReadAllBytes(Path.Combine(run, "predictions", task + ".png"));
            Assert.That(png.Take(8), Is.EqualTo(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 }), task);
        }
    }

    private static (CliResult Result, List<string> Steps) RunRecording(string[] args, long stopDuringStep = -1)
    {
        var steps = new List<string>();
        using var stop = new CancellationTokenSource();
        var registry = RecordingExperiment.MtanRegistry((batch, losses) =>
        {
            steps.Add($"{batch.GlobalStep}:" + string.Join(",", losses.Select(p => $"{p.Key}={p.Value:R}")));
            if (batch.GlobalStep == stopDuringStep) stop.Cancel();
        });
        return (CliRunner.Run(registry, stop.Token, args), steps);
    }

    [TestCase("dwa", false, "1")]
    [TestCase("dwa", false, "2")]
    [TestCase("uncert", true, "1")]
    public void InterruptedThenResumed_EqualsAnUninterruptedRun(string weighting, bool augment, string threads)
    {
        // Three epochs of two steps: DWA's weights change from the third epoch on, which the interruption falls into.
        string a = _dir["a"], b = _dir["b"];
        string[] extra = ["--weighting", weighting, "--prediction-samples", "0", "--threads", threads, .. augment ? new[] { "--augment" } : []];
        var (full, fullSteps) = RunRecording(Train(a, 3, extra));
        Assert.That(full.ExitCode, Is.Zero, full.ToString());
        Assert.That(fullSteps, Has.Count.EqualTo(6));

        var (stopped, firstSteps) = RunRecording(Train(b, 3, extra), stopDuringStep: 4);
        Assert.That(stopped.ExitCode, Is.EqualTo(ExitCodes.Interrupted), stopped.ToString());
        Assert.That(firstSteps, Has.Count.EqualTo(5));

        var (resumed, restSteps) = RunRecording(["resume", b]);
        Assert.That(resumed.ExitCode, Is.Zero, resumed.ToString());
        Assert.That(firstSteps.Concat(restSteps).ToList(), Is.EqualTo(fullSteps), "every step's losses equal the uninterrupted run's, bit for bit");

        string Lines(string run) => string.Join("\n", MetricsLog.Read(Path.Combine(run, "metrics.jsonl"))
            .Select(r => JsonSerializer.Serialize(new { r.TrainLoss, r.TrainMetrics, r.EvalLoss, r.EvalMetrics, r.TaskWeights })));
        Assert.That(Lines(b), Is.EqualTo(Lines(a)), "epoch losses, metrics and task weights match");
        var (fa, fb) = (LastCheckpoint(a), LastCheckpoint(b));
        Assert.That(fb.Keys, Is.EquivalentTo(fa.Keys));
        foreach (var key in fa.Keys) Assert.That(fb[key], Is.EqualTo(fa[key]), key);
    }

    private static Dictionary<string, double[]> LastCheckpoint(string run)
    {
        var name = File.ReadAllText(Path.Combine(run, "checkpoints", "last")).Trim();
        return SafeTensors.LoadAll(Path.Combine(run, "checkpoints", name + ".safetensors")).ToDictionary(p => p.Key, p => p.Value.ToDoubleArray());
    }

    [Test]
    public void EvalOfACheckpoint_ReproducesTheLoggedEvalMetrics()
    {
        string run = _dir["run"], json = _dir["eval.json"];
        var trained = Run(Train(run, 2, "--prediction-samples", "0"));
        Assert.That(trained.ExitCode, Is.Zero, trained.ToString());

        var eval = Run(["eval", .. TinyFlags, "--weights", Path.Combine(run, "checkpoints", "epoch-0002.safetensors"), "--json", json]);
        Assert.That(eval.ExitCode, Is.Zero, eval.ToString());
        var logged = MetricsLog.Read(Path.Combine(run, "metrics.jsonl"))[^1];
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var metrics = doc.RootElement.GetProperty("metrics").Deserialize<Dictionary<string, Dictionary<string, double>>>()!;
        var losses = doc.RootElement.GetProperty("loss").Deserialize<Dictionary<string, double>>()!;
        Assert.That(metrics, Is.EqualTo(logged.EvalMetrics), "same weights, data and threads give the same metrics");
        Assert.That(losses, Is.EqualTo(logged.EvalLoss));

        var wider = Run(["eval", .. Flags("--width-multiplier", "0.125"), "--weights", Path.Combine(run, "checkpoints", "epoch-0002.safetensors")]);
        Assert.That(wider.ExitCode, Is.EqualTo(ExitCodes.BadInput), wider.ToString());
        Assert.That(wider.Error, Does.Contain("do not fit 'mtan-segnet'").And.Contain("size mismatch"));
    }

    [Test]
    public void DataSynth_WritesANyuV2FolderThatTrainsAsNyuV2()
    {
        string data = _dir["synth"], run = _dir["run"];
        var synth = Run(["data", "synth", "--out", data, "--count", "4", "--val-count", "2", "--height", "32", "--width", "32"]);
        Assert.That(synth.ExitCode, Is.Zero, synth.ToString());
        foreach (var folder in new[] { "image", "label", "depth", "normal" })
            Assert.That(Directory.GetFiles(Path.Combine(data, "train", folder), "*.npy"), Has.Length.EqualTo(4), folder);

        var result = Run(Train(run, 1, "--dataset", "nyuv2", "--data", data, "--prediction-samples", "0"));
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Output, Does.Contain("4 training and 2 evaluation samples"));
    }

    [Test]
    public void CityScapesFolder_TrainsTwoTasksWithSevenClasses()
    {
        string data = _dir["cityscapes"], run = _dir["run"];
        var rng = new Random(11);
        foreach (var (split, count) in new[] { ("train", 4), ("val", 2) })
        {
            foreach (var folder in new[] { "image", "label_7", "depth" }) Directory.CreateDirectory(Path.Combine(data, split, folder));
            for (int i = 0; i < count; i++)
            {
                var image = Enumerable.Range(0, 32 * 32 * 3).Select(_ => (float)rng.NextDouble()).ToArray();
                var labels = Enumerable.Range(0, 32 * 32).Select(p => p % 11 == 0 ? -1f : (float)((p / 32 / 5 + i) % 7)).ToArray();
                var depth = Enumerable.Range(0, 32 * 32).Select(p => p % 13 == 0 ? 0f : 0.1f + (float)rng.NextDouble()).ToArray();
                Astmt.Models.Data.Npy.NpyWriter.Write(Path.Combine(data, split, "image", $"{i}.npy"), image, 32, 32, 3);
                Astmt.Models.Data.Npy.NpyWriter.Write(Path.Combine(data, split, "label_7", $"{i}.npy"), labels, 32, 32);
                Astmt.Models.Data.Npy.NpyWriter.Write(Path.Combine(data, split, "depth", $"{i}.npy"), depth, 32, 32, 1);
            }
        }
        var r = Run(Train(run, 1, "--dataset", "cityscapes", "--data", data, "--prediction-samples", "1"));
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(r.Output, Does.Contain("7 classes").And.Contain("4 training and 2 evaluation samples"));
        var record = MetricsLog.Read(Path.Combine(run, "metrics.jsonl")).Single();
        Assert.That(record.EvalMetrics.Keys, Is.EquivalentTo(new[] { "semantic", "depth" }));
        Assert.That(record.EvalMetrics["depth"]["abs_err"], Is.GreaterThan(0).And.LessThan(100));
    }

    [Test]
    public void Info_PrintsExactParameterCountsAndFlops()
    {
        var paper = Run(["info", "--model", "mtan-segnet", "--width-multiplier", "1", "--height", "288", "--width", "384"]);
        Assert.That(paper.ExitCode, Is.Zero, paper.ToString());
        Assert.That(paper.Output, Does.Contain("44,229,076"));
        Assert.That(paper.Output, Does.Contain("FLOPs per image at 288x384"));

        var split = Run(["info", "--model", "segnet-split", "--width-multiplier", "1", "--json"]);
        Assert.That(split.ExitCode, Is.Zero, split.ToString());
        Assert.That(split.Output, Does.Contain("25,055,188"));

        var cityscapes = Run(["info", "--model", "mtan-segnet", "--dataset", "cityscapes", "--width-multiplier", "1", "--height", "128", "--width", "256"]);
        Assert.That(cityscapes.ExitCode, Is.Zero, cityscapes.ToString());
        Assert.That(cityscapes.Output, Does.Contain("41,206,986").And.Contain("7 classes"));
    }

    [TestCase("mtan-segnet", null)]
    [TestCase("stan", "depth")]
    [TestCase("segnet-single", "normal")]
    [TestCase("segnet-split", null)]
    [TestCase("segnet-split-wide", null)]
    [TestCase("segnet-split-deep", null)]
    [TestCase("segnet-dense", null)]
    [TestCase("segnet-cross-stitch", null)]
    public void EveryMtanNetwork_TrainsAnEpochAndPredicts(string model, string? singleTask)
    {
        string run = _dir["run"];
        string[] extra = ["--model", model, "--train-samples", "4", "--eval-samples", "2", "--prediction-samples", "1", "--weighting", "uncert",
            .. singleTask != null ? new[] { "--task", singleTask } : []];
        var r = Run(Train(run, 1, extra));
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var record = MetricsLog.Read(Path.Combine(run, "metrics.jsonl")).Single();
        string[] tasks = singleTask != null ? [singleTask] : ["semantic", "depth", "normal"];
        Assert.That(record.EvalLoss.Keys, Is.EquivalentTo(tasks));
        Assert.That(record.EvalLoss.Values, Has.All.Matches<double>(double.IsFinite));
        Assert.That(record.TaskWeights!.Keys, Is.EquivalentTo(tasks), "uncertainty weights are reported per task");
        foreach (var task in tasks) Assert.That(File.Exists(Path.Combine(run, "predictions", task + ".png")), task);
    }

    [Test]
    public void UnknownModel_NamesTheAcceptedModels()
    {
        var r = Run(Train(_dir["run"], 1, "--model", "segnet-huge"));
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        Assert.That(r.Error, Does.Contain("segnet-huge").And.Contain("mtan-segnet").And.Contain("segnet-cross-stitch"));
        Assert.That(r.Error.Trim().Split('\n'), Has.Length.EqualTo(1), "one line");
    }

    [TestCase("imagenet", "synthetic")]
    [TestCase("pascal-context", "synthetic, nyuv2, cityscapes")]
    public void UnknownDataset_NamesTheAcceptedDatasets(string dataset, string expected)
    {
        var r = Run(Train(_dir["run"], 1, "--dataset", dataset));
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        Assert.That(r.Error, Does.Contain(dataset).And.Contain(expected));
    }

    [Test]
    public void MissingOrMalformedDataFolder_IsABadInput()
    {
        string missing = _dir["nowhere"];
        var r = Run(Train(_dir["run"], 1, "--dataset", "nyuv2", "--data", missing));
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        Assert.That(r.Error, Does.Contain(missing));

        var noFlag = Run(Train(_dir["run"], 1, "--dataset", "cityscapes"));
        Assert.That(noFlag.ExitCode, Is.EqualTo(ExitCodes.BadInput), noFlag.ToString());
        Assert.That(noFlag.Error, Does.Contain("--data"));

        string empty = _dir["empty"];
        Directory.CreateDirectory(empty);
        var malformed = Run(Train(_dir["run"], 1, "--dataset", "nyuv2", "--data", empty));
        Assert.That(malformed.ExitCode, Is.EqualTo(ExitCodes.BadInput), malformed.ToString());
        Assert.That(malformed.Error, Does.Contain("not a nyuv2 folder").And.Contain("{train,val}/{image,label,depth,normal}/{i}.npy"));
    }

    [Test]
    public void BadConfigFile_IsABadInput()
    {
        string config = _dir["bad.yaml"];
        File.WriteAllText(config, "model: mtan-segnet\nepochs: [1, 2\n");
        var r = Run(["train", "--config", config, "--out", _dir["run"]]);
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        Assert.That(r.Error, Does.Contain("bad.yaml"));
    }

    [Test]
    public void SizeNotAMultipleOf32_IsABadInput()
    {
        var r = Run(Train(_dir["run"], 1, "--width", "48"));
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        Assert.That(r.Error, Does.Contain("32x48").And.Contain("multiples of 32"));
    }
}
