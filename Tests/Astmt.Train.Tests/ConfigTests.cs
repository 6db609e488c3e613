using Astmt.Train.Config;
using Astmt.Train.Experiments;
using Astmt.Train.Tests.Support;

namespace Astmt.Train.Tests;

/// <summary>Configuration layers: built-in defaults &lt; model defaults &lt; preset &lt; --config file &lt; flags; YAML round trip.</summary>
public sealed class ConfigTests
{
    private static readonly DateTime Now = new(2026, 1, 2, 3, 4, 5);
    private static readonly ExperimentRegistry Registry = TestRegistry.Create();

    private static RunConfig Resolve(Dictionary<string, string> flags, ConfigLayer? file = null)
    {
        var all = new Dictionary<string, string>(flags) { ["model"] = "tiny" };
        return ConfigResolver.Resolve(Registry, ConfigLayer.From(all, "flags"), file, Now);
    }

    private static ConfigLayer Yaml(TempDir dir, string text)
    {
        File.WriteAllText(dir["c.yaml"], text);
        return YamlConfig.Read(dir["c.yaml"]);
    }

    [Test]
    public void NoSettings_GivesModelDefaultsOverBuiltInDefaults()
    {
        var c = Resolve([]);
        Assert.That((c.Epochs, c.BatchSize, c.LearningRate), Is.EqualTo((3, 3, 0.05)), "model defaults");
        Assert.That((c.Seed, c.Weighting, c.Dataset, c.Device), Is.EqualTo((0L, "equal", "synthetic", "auto")), "built-in defaults");
        Assert.That(c.Out, Is.EqualTo(Path.Combine("runs", "tiny-20260102-030405")));
        Assert.That(c.Options["nan-at-step"], Is.EqualTo("-1"));
    }

    [Test]
    public void PaperPreset_OverridesModelDefaults()
    {
        var c = Resolve(new() { ["preset"] = "paper" });
        Assert.That((c.Epochs, c.BatchSize, c.LearningRate), Is.EqualTo((7, 5, 0.02)));
    }

    [Test]
    public void ConfigFile_OverridesPreset_AndFlagsOverrideTheFile()
    {
        using var dir = new TempDir();
        var file = Yaml(dir, "preset: paper\nepochs: 9\nseed: 11\noptions:\n  nan-at-step: 5\n");
        var fromFile = Resolve([], file);
        Assert.That((fromFile.Epochs, fromFile.BatchSize, fromFile.Seed), Is.EqualTo((9, 5, 11L)), "file over preset; preset where the file is silent");
        Assert.That(fromFile.Options["nan-at-step"], Is.EqualTo("5"));

        var flagged = Resolve(new() { ["epochs"] = "4", ["options.nan-at-step"] = "6" }, file);
        Assert.That((flagged.Epochs, flagged.Seed), Is.EqualTo((4, 11L)));
        Assert.That(flagged.Options["nan-at-step"], Is.EqualTo("6"));
    }

    [Test]
    public void WrittenConfig_ReadsBackToTheSameConfiguration()
    {
        using var dir = new TempDir();
        var c = Resolve(new() { ["lr"] = "1e-4", ["weighting"] = "DWA", ["options.wide"] = "true", ["out"] = "some dir: with colon" });
        YamlConfig.Write(dir["config.yaml"], c);
        var back = ConfigResolver.Resolve(Registry, new ConfigLayer(), YamlConfig.Read(dir["config.yaml"]), Now);
        Assert.That(back.ToPairs(), Is.EqualTo(c.ToPairs()));
        Assert.That(back.Hash(), Is.EqualTo(c.Hash()));
        Assert.That(c.Weighting, Is.EqualTo("dwa"), "choices are canonicalised");
    }

    [Test]
    public void Hash_ChangesWithWhatIsTrained_NotWithDeviceThreadsOrEpochs()
    {
        var c = Resolve([]);
        Assert.That(Resolve(new() { ["epochs"] = "30", ["threads"] = "2", ["device"] = "emu" }).Hash(), Is.EqualTo(c.Hash()));
        Assert.That(Resolve(new() { ["seed"] = "1" }).Hash(), Is.Not.EqualTo(c.Hash()));
        Assert.That(Resolve(new() { ["options.wide"] = "true" }).Hash(), Is.Not.EqualTo(c.Hash()));
    }

    [TestCase("epochs: [1, 2]\n", "c.yaml line 1: 'epochs' must be a single value")]
    [TestCase("epochs: 3\nbatchsize: 2\n", "c.yaml line 2: unknown key 'batchsize'")]
    [TestCase("epochs: 3\n  - x: [\n", "c.yaml line 2")]
    [TestCase("- 1\n- 2\n", "expected a mapping of keys at the top level")]
    [TestCase("device: gpu\n", "c.yaml line 1 (device): 'gpu' is not valid for device; expected one of auto, cpu, cuda, emu")]
    [TestCase("options:\n  colour: red\n", "c.yaml line 2 (options.colour): model 'tiny' has no option 'colour'; expected one of nan-at-step, wide")]
    public void MalformedConfigFiles_AreReportedWithTheLine(string yaml, string expected)
    {
        using var dir = new TempDir();
        var e = Assert.Throws<ConfigurationException>(() => Resolve([], Yaml(dir, yaml)));
        Assert.That(e!.Message, Does.Contain(expected));
    }
}
