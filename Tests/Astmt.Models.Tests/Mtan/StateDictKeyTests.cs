using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Models.Mtan;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

public class StateDictKeyTests
{
    private static List<(string Key, int[] Shape)> ReadSpec()
    {
        var entries = new List<(string, int[])>();
        foreach (var line in File.ReadLines(FixturePaths.Get("mtan_segnet_state_dict.txt")))
        {
            if (line.StartsWith('#') || string.IsNullOrWhiteSpace(line)) continue;
            var parts = line.Split(' ');
            entries.Add((parts[0], parts[1] == "scalar" ? [] : parts[1].Split('x').Select(int.Parse).ToArray()));
        }
        return entries;
    }

    [Test]
    public void MtanSegNetKeysShapesAndOrderAreThePyTorchReferences()
    {
        var spec = ReadSpec();
        var model = MtanModels.Create("mtan-segnet", new MtanModelOptions { Initialize = false });
        var ours = model.StateDict().Select(e => (e.Key, e.Value.Shape)).ToList();
        Assert.That(ours.Select(e => e.Key), Is.EqualTo(spec.Select(e => e.Key)));
        for (int i = 0; i < spec.Count; i++) Assert.That(ours[i].Shape, Is.EqualTo(spec[i].Shape), spec[i].Key);
        Assert.That(spec, Has.Count.EqualTo(685));
        Assert.That(model.StateDict()["encoder_block.0.1.num_batches_tracked"].DType, Is.EqualTo(DType.Int64));
    }

    [Test]
    public void ReducedWidthKeepsTheKeys()
    {
        var full = MtanModels.Create("mtan-segnet", new MtanModelOptions { Initialize = false }).StateDict().Keys;
        var small = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = 0.125 });
        Assert.That(small.StateDict().Keys, Is.EqualTo(full));
        Assert.That(small.StateDict()["encoder_block.4.0.weight"].Shape, Is.EqualTo(new[] { 64, 64, 3, 3 }));
        Assert.That(small.StateDict()["decoder_att.0.0.0.weight"].Shape, Is.EqualTo(new[] { 8, 16, 1, 1 }));
    }

    [Test]
    public void BaselinesFollowTheReferenceNaming()
    {
        var single = MtanModels.Create("segnet-single", new MtanModelOptions { Width = 0.125, SingleTask = MtanTask.Depth }).StateDict();
        Assert.That(single.Keys.Last(), Is.EqualTo("pred_task.1.bias"));
        Assert.That(single["pred_task.1.weight"].Shape, Is.EqualTo(new[] { 1, 8, 1, 1 }));
        Assert.That(single.ContainsKey("logsigma"), Is.False);

        var stan = MtanModels.Create("stan", new MtanModelOptions { Width = 0.125 }).StateDict();
        Assert.That(stan.Keys, Does.Contain("encoder_att.0.4.4.weight"));
        Assert.That(stan.Keys.Any(k => k.StartsWith("encoder_att.1.", StringComparison.Ordinal)), Is.False);

        var deep = MtanModels.Create("segnet-split-deep", new MtanModelOptions { Width = 0.125 }).StateDict();
        Assert.That(deep.Keys, Does.Contain("encoder_block.0.3.weight").And.Contain("encoder_block.0.4.running_var"));
        Assert.That(deep.Keys.First(), Is.EqualTo("logsigma"));

        var dense = MtanModels.Create("segnet-dense", new MtanModelOptions { Width = 0.125 }).StateDict();
        Assert.That(dense["decoder_block.0.3.weight"].Shape, Is.EqualTo(new[] { 13, 8, 3, 3 }), "the reference's unused 13-channel shared decoder output");
        Assert.That(dense["encoder_block_t.2.1.0.weight"].Shape, Is.EqualTo(new[] { 16, 16, 3, 3 }));
        Assert.That(dense["decoder_block_t.0.4.0.weight"].Shape, Is.EqualTo(new[] { 64, 128, 3, 3 }));

        var cross = MtanModels.Create("segnet-cross-stitch", new MtanModelOptions { Width = 0.125 }).StateDict();
        Assert.That(cross.Keys.Take(3), Is.EqualTo(new[] { "cs_unit_encoder", "cs_unit_decoder", "logsigma" }));
        Assert.That(cross["cs_unit_encoder"].ToDoubleArray(), Is.All.EqualTo(1.0));
        Assert.That(cross["cs_unit_decoder"].Shape, Is.EqualTo(new[] { 5, 3 }));
    }
}
