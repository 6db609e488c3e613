using Astmt.Train.Tests.Support;
using Astmt.Train.Training;

namespace Astmt.Train.Tests;

/// <summary>Command-line parsing, help and the one-line errors with exit code 2.</summary>
public sealed class CliTests
{
    [Test]
    public void Help_OfEachCommand_ListsItsFlagsWithDefaults()
    {
        var registry = TestRegistry.Create();
        foreach (var command in new[] { "train", "eval", "predict", "info", "resume" })
        {
            var r = CliRunner.Run(registry, command, "--help");
            Assert.That(r.ExitCode, Is.Zero, r.ToString());
            foreach (var flag in new[] { "--model", "--dataset", "--data", "--device", "--threads", "--seed", "--batch-size", "--epochs", "--lr", "--weighting", "--preset" })
                Assert.That(r.Output, Does.Contain(flag), $"{command} --help lists {flag}");
            Assert.That(r.Output, Does.Contain("[default: equal"), $"{command} --help shows defaults");
            Assert.That(r.Output, Does.Contain("--nan-at-step"), "model options are offered as flags");
        }
        Assert.That(CliRunner.Run(registry, "train", "--help").Output, Does.Contain("--config").And.Contain("--out"));
        Assert.That(CliRunner.Run(registry, "data", "synth", "--help").Output, Does.Contain("--count").And.Contain("[default: 100]"));
    }

    [TestCase(new[] { "train", "--model", "tiny", "--device", "gpu" }, "--device: 'gpu' is not valid for device; expected one of auto, cpu, cuda, emu")]
    [TestCase(new[] { "train", "--model", "tiny", "--epochs", "many" }, "--epochs: 'many' is not valid for epochs; expected a whole number ≥ 1")]
    [TestCase(new[] { "train", "--model", "tiny", "--batch-size", "0" }, "--batch-size: '0' is not valid for batch-size; expected a whole number ≥ 1")]
    [TestCase(new[] { "train", "--model", "tiny", "--lr", "-1" }, "--lr: '-1' is not valid for lr; expected a positive number")]
    [TestCase(new[] { "train", "--model", "tiny", "--weighting", "gradnorm" }, "--weighting: 'gradnorm' is not valid for weighting; expected one of equal, dwa, uncert")]
    [TestCase(new[] { "train", "--model", "tiny", "--preset", "fast" }, "--preset: 'fast' is not valid for preset; expected one of default, paper")]
    [TestCase(new[] { "train", "--model", "segnet9" }, "--model: unknown model 'segnet9'; expected one of tiny")]
    [TestCase(new[] { "train", "--model", "tiny", "--dataset", "cityscapes" }, "--dataset: model 'tiny' does not take dataset 'cityscapes'; expected one of synthetic, nyuv2")]
    [TestCase(new[] { "train", "--model", "tiny", "--dataset", "nyuv2" }, "--data: dataset 'nyuv2' needs its folder; pass --data DIR")]
    [TestCase(new[] { "train", "--model", "tiny", "--height", "6" }, "--height/--width: 6x4 cannot be taken by 'tiny'; expected multiples of 4")]
    [TestCase(new[] { "train", "--model", "tiny", "--wide", "maybe" }, "--wide: 'maybe' is not valid for wide; expected one of true, false")]
    [TestCase(new[] { "train", "--model", "tiny", "--config", "/nonexistent/x.yaml" }, "--config: the file '/nonexistent/x.yaml' does not exist")]
    [TestCase(new[] { "train", "--frobnicate" }, "Unrecognized command or argument '--frobnicate'")]
    [TestCase(new[] { "eval", "--model", "tiny" }, "--weights")]
    public void BadInput_FailsWithOneClearLine_AndExitCode2(string[] args, string expected)
    {
        var r = CliRunner.Run(TestRegistry.Create(), args);
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        Assert.That(r.Error, Does.StartWith("error: ").And.Contain(expected), r.ToString());
    }

    [Test]
    public void MissingDatasetFolder_IsNamed()
    {
        var r = CliRunner.Run(TestRegistry.Create(), "train", "--model", "tiny", "--dataset", "nyuv2", "--data", "/no/such/folder");
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(r.Error, Does.Contain("--data: the dataset folder '/no/such/folder' does not exist"));
    }

    [Test]
    public void Info_PrintsTheModelFacts_AsTableOrJson()
    {
        var table = CliRunner.Run(TestRegistry.Create(), "info", "--model", "tiny");
        Assert.That(table.ExitCode, Is.Zero, table.ToString());
        Assert.That(table.Output, Does.Contain("parameters").And.Contain("semantic, depth"));
        var json = CliRunner.Run(TestRegistry.Create(), "info", "--model", "tiny", "--json");
        using var doc = System.Text.Json.JsonDocument.Parse(json.Output);
        Assert.That(doc.RootElement.GetProperty("facts").GetProperty("parameters").GetString(), Is.EqualTo("8"));
    }

    [Test]
    public void DataSynth_WithTheShippedGenerator_WritesTheNyuV2Layout()
    {
        using var dir = new TempDir();
        var r = CliRunner.Run(Astmt.Train.Experiments.ExperimentRegistry.CreateDefault(),
            "data", "synth", "--out", dir.Path, "--count", "2", "--val-count", "1", "--height", "16", "--width", "24");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        foreach (var (split, n) in new[] { ("train", 2), ("val", 1) })
            foreach (var folder in new[] { "image", "label", "depth", "normal" })
                Assert.That(Directory.GetFiles(Path.Combine(dir.Path, split, folder), "*.npy"), Has.Length.EqualTo(n), $"{split}/{folder}");
        var image = Astmt.Models.Data.Npy.NpyReader.Read(Path.Combine(dir.Path, "train", "image", "0.npy"));
        Assert.That(image.Shape, Is.EqualTo(new[] { 16, 24, 3 }), "HWC images at the requested size");
    }

    [Test]
    public void DataSynth_WithoutAGenerator_SaysSo()
    {
        var r = CliRunner.Run(TestRegistry.Create(), "data", "synth", "--out", "x");
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(r.Error, Does.Contain("no synthetic-scene generator is registered"));
    }

    [Test]
    public void DataSynth_PassesItsArgumentsToTheRegisteredGenerator()
    {
        var registry = TestRegistry.Create();
        Astmt.Train.Experiments.SynthRequest? seen = null;
        registry.SyntheticWriter = request => { seen = request; for (int i = 1; i <= request.Count + request.ValCount; i++) request.Progress(i); };
        var r = CliRunner.Run(registry, "data", "synth", "--out", "dir", "--count", "8", "--height", "32", "--width", "48", "--seed", "9");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        Assert.That(seen, Is.Not.Null);
        Assert.That((seen!.Out, seen.Layout, seen.Count, seen.ValCount, seen.Height, seen.Width, seen.Seed), Is.EqualTo(("dir", "nyuv2", 8, 2, 32, 48, 9L)));
        Assert.That(r.Output, Does.Contain("10/10"));

        var astmt = CliRunner.Run(registry, "data", "synth", "--out", "dir", "--layout", "astmt", "--val-count", "3");
        Assert.That((astmt.ExitCode, seen.Layout, seen.ValCount), Is.EqualTo((0, "astmt", 3)), astmt.ToString());
        var bad = CliRunner.Run(registry, "data", "synth", "--out", "dir", "--layout", "pascal");
        Assert.That(bad.ExitCode, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(bad.Error, Does.StartWith("error: --layout: ").And.Contain("'pascal'").And.Contain("'nyuv2'"));
    }
}
