using Astmt.Models.Astmt;
using NUnit.Framework;

namespace Astmt.Models.Tests.Astmt;

/// <summary>Exact parameter counts of issue 6 (output stride 16, decoder width 64), which two independent derivations from the
/// reference agree on; the networks are built without initialisation and never run.</summary>
public class AstmtParameterCountTests
{
    private static long Count(AstmtConfig config) => new AstmtNetwork(config, initialize: false).ParameterCount();

    [TestCase(AstmtBackbone.R26, false, false, false, false, 19_378_329L)]
    [TestCase(AstmtBackbone.R26, true, true, false, false, 25_009_356L)]
    [TestCase(AstmtBackbone.R26, true, true, true, false, 31_274_956L)]
    [TestCase(AstmtBackbone.R26, true, true, true, true, 31_279_377L)]
    [TestCase(AstmtBackbone.R50, false, false, false, false, 30_159_465L)]
    [TestCase(AstmtBackbone.R50, true, true, false, false, 40_311_260L)]
    [TestCase(AstmtBackbone.R50, true, true, true, false, 49_382_620L)]
    [TestCase(AstmtBackbone.R50, true, true, true, true, 49_387_041L)]
    [TestCase(AstmtBackbone.R101, false, false, false, false, 51_607_209L)]
    [TestCase(AstmtBackbone.R101, true, true, false, false, 70_745_884L)]
    [TestCase(AstmtBackbone.R101, true, true, true, false, 85_387_804L)]
    [TestCase(AstmtBackbone.R101, true, true, true, true, 85_392_225L)]
    public void PascalContextCountsMatchTheIssue(AstmtBackbone backbone, bool seEncoder, bool seDecoder, bool adapters, bool adversarial, long expected)
    {
        var config = AstmtConfig.For(AstmtDataset.PascalContext, backbone, seEncoder, seDecoder, adapters, adversarial);
        Assert.That(Count(config), Is.EqualTo(expected));
        Assert.That(AstmtComplexity.ParameterCount(config), Is.EqualTo(expected), "the analytic counter agrees with the built network");
    }

    [Test]
    public void NyudR50FullConfigurationWithThe3x3Discriminator()
    {
        var config = AstmtConfig.For(AstmtDataset.Nyud, AstmtBackbone.R50, true, true, true, true);
        Assert.That(config.DiscriminatorKernel, Is.EqualTo(3));
        Assert.That(Count(config), Is.EqualTo(45_018_606L));
        Assert.That(AstmtComplexity.ParameterCount(config), Is.EqualTo(45_018_606L));
    }

    [Test]
    public void FiveSingleTaskR26NetworksTogether()
    {
        var multi = AstmtConfig.For(AstmtDataset.PascalContext, AstmtBackbone.R26, false, false, false, false);
        long total = multi.TaskNames.Sum(t => Count(multi.SingleTask(t)));
        Assert.That(total, Is.EqualTo(96_268_665L));
    }

    [Test]
    public void DiscriminatorAddsConvWithoutBiasAndConvWithBias()
    {
        var with = AstmtConfig.For(AstmtDataset.PascalContext, AstmtBackbone.R26, true, true, true, true);
        Assert.That(Count(with) - Count(with with { Adversarial = false }), Is.EqualTo(64 * 64 + 64 * 5 + 5));
    }

    [Test]
    public void DescribePrintsTheExactCountInFull()
    {
        var facts = AstmtComplexity.Describe(AstmtConfig.For(AstmtDataset.Nyud, AstmtBackbone.R50, true, true, true, true)).ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.That(facts["parameters"], Is.EqualTo("45,018,606"));
        Assert.That(facts["model"], Is.EqualTo("astmt-r50"));
        Assert.That(facts["encoder passes per image"], Is.EqualTo("4 of 4 tasks"));
    }
}
