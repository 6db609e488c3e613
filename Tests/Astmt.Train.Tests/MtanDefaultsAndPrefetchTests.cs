using System.Globalization;
using Astmt.Train.Config;
using Astmt.Train.Experiments;
using Astmt.Train.Experiments.Mtan;
using Astmt.Train.Tests.Support;
using Astmt.Train.Training;

namespace Astmt.Train.Tests;

/// <summary>
/// The MTAN experiment's dataset-dependent defaults (the paper's settings on NYUv2 and CityScapes, the quick run on synthetic
/// scenes; flags and the config file override them) and its background prefetch of training batches, whose oracle is the
/// same run loading every batch inside the step: the losses must agree bit for bit.
/// </summary>
[NonParallelizable]
public sealed class MtanDefaultsAndPrefetchTests
{
    private static readonly DateTime Now = new(2026, 1, 2, 3, 4, 5);
    private static readonly ExperimentRegistry Registry = ExperimentRegistry.CreateDefault();
    private TempDir _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDir();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private static RunConfig Resolve(Dictionary<string, string> flags, ConfigLayer? file = null) =>
        ConfigResolver.Resolve(Registry, ConfigLayer.From(flags, "flags"), file, Now, requireData: false);

    private static (int Epochs, int Height, int Width, int Batch, double Lr, string WidthMultiplier, string LrStep, string LrGamma) Training(RunConfig c) =>
        (c.Epochs, c.Height, c.Width, c.BatchSize, c.LearningRate, c.Options[MtanOptions.WidthMultiplier], c.Options[MtanOptions.LrStep], c.Options[MtanOptions.LrGamma]);

    [Test]
    public void NoFlags_Synthetic_IsTheQuickRun()
    {
        Assert.That(Training(Resolve([])), Is.EqualTo((6, 64, 64, 8, 0.001, "0.125", "100", "0.5")));
        Assert.That(Resolve([]).Dataset, Is.EqualTo("synthetic"));
    }

    [TestCase("nyuv2", 288, 384)]
    [TestCase("cityscapes", 128, 256)]
    public void NoFlags_RealDatasets_AreThePapersSettingsAtTheirSize(string dataset, int height, int width)
    {
        var c = Resolve(new() { ["dataset"] = dataset });
        Assert.That(Training(c), Is.EqualTo((200, height, width, 2, 1e-4, "1", "100", "0.5")));
        Assert.That(c.Options[MtanOptions.MetricAveraging], Is.EqualTo("whole-split"), "only --preset paper switches to the reference's per-batch means");
    }

    [Test]
    public void Flags_OverrideTheDatasetDefaults()
    {
        var c = Resolve(new()
        {
            ["dataset"] = "nyuv2", ["epochs"] = "3", ["batch-size"] = "4", ["lr"] = "0.01", ["height"] = "64", ["width"] = "96",
            ["options.width-multiplier"] = "0.25", ["options.lr-step"] = "10", ["options.lr-gamma"] = "0.1",
        });
        Assert.That(Training(c), Is.EqualTo((3, 64, 96, 4, 0.01, "0.25", "10", "0.1")));
    }

    [Test]
    public void ConfigFile_OverridesTheDatasetDefaults_AndFlagsOverrideTheFile()
    {
        File.WriteAllText(_dir["c.yaml"], "dataset: cityscapes\nepochs: 7\nbatch-size: 3\noptions:\n  width-multiplier: 0.5\n");
        var file = YamlConfig.Read(_dir["c.yaml"]);
        var fromFile = Resolve([], file);
        Assert.That(Training(fromFile), Is.EqualTo((7, 128, 256, 3, 1e-4, "0.5", "100", "0.5")));
        var flagged = Resolve(new() { ["epochs"] = "2", ["options.width-multiplier"] = "0.25" }, file);
        Assert.That(Training(flagged), Is.EqualTo((2, 128, 256, 3, 1e-4, "0.25", "100", "0.5")));
    }

    [Test]
    public void PaperPreset_IsNyuV2ByDefault_AndTakesTheChosenDatasetsSize()
    {
        var paper = Resolve(new() { ["preset"] = "paper" });
        Assert.That((paper.Dataset, paper.Options[MtanOptions.MetricAveraging]), Is.EqualTo(("nyuv2", "per-batch")));
        Assert.That(Training(paper), Is.EqualTo((200, 288, 384, 2, 1e-4, "1", "100", "0.5")));
        var city = Resolve(new() { ["preset"] = "paper", ["dataset"] = "cityscapes" });
        Assert.That(Training(city), Is.EqualTo((200, 128, 256, 2, 1e-4, "1", "100", "0.5")));
        var synthetic = Resolve(new() { ["preset"] = "paper", ["dataset"] = "synthetic" });
        Assert.That(Training(synthetic), Is.EqualTo((200, 288, 384, 2, 1e-4, "1", "100", "0.5")), "the preset's size, as the synthetic set has no defaults of its own");
        var overridden = Resolve(new() { ["preset"] = "paper", ["epochs"] = "1", ["height"] = "32" });
        Assert.That((overridden.Epochs, overridden.Height), Is.EqualTo((1, 32)));
    }

    [Test]
    public void Help_ListsTheDefaultsPerDataset()
    {
        var r = CliRunner.Run(Registry, "train", "--help");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        string help = string.Join(' ', r.Output.Split((char[])['\n', '\r', ' '], StringSplitOptions.RemoveEmptyEntries));
        Assert.That(help, Does.Contain("8 on synthetic, 2 on nyuv2/cityscapes"), "--batch-size");
        Assert.That(help, Does.Contain("6 on synthetic, 200 on nyuv2/cityscapes"), "--epochs");
        Assert.That(help, Does.Contain("64 on synthetic, 288 on nyuv2, 128 on cityscapes"), "--height");
        Assert.That(help, Does.Contain("0.125 on synthetic, 1 on nyuv2/cityscapes"), "--width-multiplier");
    }

    /// <summary>Trains the configured epochs the way the trainer orders them and returns every step's losses.</summary>
    private static List<double> TrainLosses(RunConfig config, bool prefetch, out long hits, out bool cachedAll)
    {
        using var experiment = new MtanExperiment(config, prefetch, cacheBudgetBytes: 0);
        cachedAll = experiment.Data.CachesAll;
        var losses = new List<double>();
        int n = experiment.TrainCount, bs = config.BatchSize;
        long global = 0;
        for (int epoch = 0; epoch < config.Epochs; epoch++)
        {
            int[] order = Trainer.EpochOrder(config.Seed, epoch, n);
            var sums = new Dictionary<string, double>();
            for (int step = 0, start = 0; start < n; step++, start += bs)
            {
                int count = Math.Min(bs, n - start);
                var l = experiment.TrainStep(new TrainBatch(order[start..(start + count)], epoch, step, global++, 0));
                experiment.ApplyUpdate();
                foreach (var (task, v) in l) { losses.Add(v); sums[task] = sums.GetValueOrDefault(task) + v * count; }
            }
            experiment.EndEpoch(new EpochEnd(epoch, config.Epochs, sums.ToDictionary(p => p.Key, p => p.Value / n)));
        }
        hits = experiment.PrefetchHits;
        return losses;
    }

    [Test]
    public void FolderDataset_WithPrefetch_GivesBitIdenticalLosses()
    {
        string data = _dir["nyu"];
        var synth = CliRunner.Run(Registry, "data", "synth", "--out", data, "--count", "6", "--val-count", "2", "--height", "32", "--width", "32");
        Assert.That(synth.ExitCode, Is.Zero, synth.ToString());
        var config = ConfigResolver.Resolve(Registry, ConfigLayer.From(new Dictionary<string, string>
        {
            ["dataset"] = "nyuv2", ["data"] = data, ["height"] = "32", ["width"] = "32", ["batch-size"] = "4", ["epochs"] = "2",
            ["lr"] = "0.001", ["seed"] = "9", ["weighting"] = "dwa",
            ["options.width-multiplier"] = "0.0625", ["options.augment"] = "true",
        }, "flags"), null, Now);

        var plain = TrainLosses(config, prefetch: false, out long plainHits, out bool cached);
        var prefetched = TrainLosses(config, prefetch: true, out long hits, out _);
        Assert.That(cached, Is.False, "the folder is read at every use, as a dataset too big for the cache");
        Assert.That(plainHits, Is.Zero);
        // 6 samples in batches of 4 and 2: 2 steps per epoch, 4 in all; every step but the first was loaded in the background.
        Assert.That(hits, Is.EqualTo(3));
        Assert.That(prefetched, Has.Count.EqualTo(4 * 3));
        Assert.That(prefetched.Select(v => v.ToString("R", CultureInfo.InvariantCulture)),
            Is.EqualTo(plain.Select(v => v.ToString("R", CultureInfo.InvariantCulture))), "every step loss, bit for bit");
    }
}
