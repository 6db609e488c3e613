using Astmt.Engine;
using Astmt.Models.Astmt;
using Astmt.Models.Tests.Mtan;
using NUnit.Framework;

namespace Astmt.Models.Tests.Astmt;

/// <summary>State-dict keys, order and shapes against the PyTorch reference's (Fixtures/astmt_state_dict_keys.txt, made by
/// Tools/fixtures/make_astmt_state_dict_keys.py from astmt_reference.py), for R-26 on PASCAL-Context.</summary>
public class AstmtStateDictKeyTests
{
    private static Dictionary<string, (long Count, List<string> Lines)> Reference() => Read().Keys;

    private static (Dictionary<string, (long Count, List<string> Lines)> Keys, Dictionary<string, (long Encoder, long Decoder)> Macs) Read()
    {
        var result = new Dictionary<string, (long, List<string>)>();
        var macs = new Dictionary<string, (long, long)>();
        List<string>? current = null;
        foreach (var line in File.ReadAllLines(FixturePaths.Get("astmt_state_dict_keys.txt")))
        {
            if (line.StartsWith('#'))
            {
                var parts = line[1..].Trim().Split(' ');
                current = [];
                result[parts[0]] = (long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), current);
                macs[parts[0]] = (long.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture), long.Parse(parts[4], System.Globalization.CultureInfo.InvariantCulture));
            }
            else current!.Add(line.TrimEnd());
        }
        return (result, macs);
    }

    /// <summary>The analytic FLOP counter against PyTorch forward hooks on the reference (one 'semseg' pass at 512×512).</summary>
    [TestCase("full", true)]
    [TestCase("baseline", false)]
    public void MacsEqualTheReferenceForwardHooks(string name, bool full)
    {
        var (encoder, decoder) = Read().Macs[name];
        var cost = AstmtComplexity.Measure(AstmtConfig.For(AstmtDataset.PascalContext, AstmtBackbone.R26, full, full, full, full), 512, 512);
        Assert.That(cost.EncoderMacs, Is.EqualTo(encoder), "encoder");
        Assert.That(cost.DecoderMacs, Is.EqualTo(decoder), "decoder and semseg head (the widest)");
        Assert.That(cost.EncoderPasses, Is.EqualTo(5), "per-task norms make the encoder task-specific");
    }

    private static List<string> Lines(AstmtNetwork network) =>
        network.StateDict().Select(kv => $"{kv.Key} {string.Join(",", kv.Value.Shape)}".TrimEnd()).ToList();

    [TestCase("full", true)]
    [TestCase("baseline", false)]
    public void KeysOrderAndShapesEqualTheReference(string name, bool full)
    {
        var (count, expected) = Reference()[name];
        var network = new AstmtNetwork(AstmtConfig.For(AstmtDataset.PascalContext, AstmtBackbone.R26, full, full, full, full), initialize: false);
        var actual = Lines(network);
        var missing = expected.Except(actual).Take(5).ToList();
        var extra = actual.Except(expected).Take(5).ToList();
        Assert.That(missing, Is.Empty, "keys of the reference we lack");
        Assert.That(extra, Is.Empty, "keys the reference lacks");
        Assert.That(actual, Is.EqualTo(expected), "same keys in PyTorch's order");
        Assert.That(network.ParameterCount(), Is.EqualTo(count));
    }

    [Test]
    public void SpecPatternsArePresent()
    {
        var keys = new AstmtNetwork(AstmtConfig.For(AstmtDataset.PascalContext, AstmtBackbone.R26, true, true, true, true), initialize: false).StateDict().Keys.ToHashSet();
        string[] patterns =
        [
            "layer1.0.bn1.edge.weight", "layer1.0.se.fc.edge.0.weight", "layer1.0.adapt.edge.weight", "layer1.0.downsample.norm.edge.running_mean",
            "decoder.layer5.conv2d_list.1.se.fc.semseg.2.bias", "decoder.conv_predict.normals.weight", "discriminator.model.0.weight",
        ];
        Assert.That(patterns.Where(p => !keys.Contains(p)), Is.Empty);
        Assert.That(keys.Any(k => k.StartsWith("decoder.layer5.conv2d_list.4.adapt", StringComparison.Ordinal)), Is.False, "no adapter on the pooling branch");
        Assert.That(keys, Does.Contain("bn1.weight").And.Not.Contain("bn1.edge.weight"), "the stem norm is shared");
    }
}
