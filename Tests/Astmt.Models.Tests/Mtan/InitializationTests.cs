using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Models.Mtan;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

/// <summary>The reference's init (spec §1.2, pitfall 8) checked statistically on every conv, and exactly on biases and BN.</summary>
public class InitializationTests
{
    private static (double Mean, double Std, double MaxAbs) Stats(Tensor t)
    {
        var v = t.ToDoubleArray();
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length), v.Max(Math.Abs));
    }

    [Test]
    public void MtanUsesXavierNormalZeroBiasAndUnitBatchNorm()
    {
        var model = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = 0.5, Seed = 3 });
        int checkedLayers = 0;
        foreach (var m in model.Modules())
        {
            if (m is Conv2d conv)
            {
                var (fanIn, fanOut) = Init.Fans(conv.Weight);
                double std = Math.Sqrt(2.0 / (fanIn + fanOut));
                if (conv.Weight.Numel >= 20_000)
                {
                    var s = Stats(conv.Weight);
                    // Sampling error of the std is about std/sqrt(2n) <= 0.5%; of the mean std/sqrt(n) <= 0.7%.
                    Assert.That(s.Std, Is.EqualTo(std).Within(0.03 * std));
                    Assert.That(s.Mean, Is.EqualTo(0).Within(0.04 * std));
                    checkedLayers++;
                }
                Assert.That(conv.Bias!.ToDoubleArray(), Is.All.EqualTo(0.0));
            }
            else if (m is BatchNorm2d bn)
            {
                Assert.That(bn.Weight!.ToDoubleArray(), Is.All.EqualTo(1.0));
                Assert.That(bn.Bias!.ToDoubleArray(), Is.All.EqualTo(0.0));
            }
        }
        Assert.That(checkedLayers, Is.GreaterThan(40));
        Assert.That(model.LogSigma!.ToDoubleArray(), Is.EqualTo(new[] { -0.5, -0.5, -0.5 }));
    }

    [Test]
    public void DenseAndCrossStitchUseXavierUniform()
    {
        foreach (var name in new[] { "segnet-dense", "segnet-cross-stitch" })
        {
            var model = MtanModels.Create(name, new MtanModelOptions { Width = 0.25, Seed = 4 });
            foreach (var conv in model.Modules().OfType<Conv2d>().Where(c => c.Weight.Numel >= 20_000))
            {
                var (fanIn, fanOut) = Init.Fans(conv.Weight);
                double bound = Math.Sqrt(6.0 / (fanIn + fanOut));
                var s = Stats(conv.Weight);
                Assert.That(s.MaxAbs, Is.LessThanOrEqualTo(bound * (1 + 1e-6)), name);
                Assert.That(s.MaxAbs, Is.GreaterThan(0.98 * bound), name + ": a uniform sample this large reaches its bound");
                Assert.That(s.Std, Is.EqualTo(bound / Math.Sqrt(3)).Within(0.03 * bound / Math.Sqrt(3)), name);
            }
        }
    }

    [Test]
    public void TheSeedDeterminesTheWeights()
    {
        var a = MtanModels.Create("segnet-split", new MtanModelOptions { Width = 0.125, Seed = 7 }).StateDict();
        var b = MtanModels.Create("segnet-split", new MtanModelOptions { Width = 0.125, Seed = 7 }).StateDict();
        var c = MtanModels.Create("segnet-split", new MtanModelOptions { Width = 0.125, Seed = 8 }).StateDict();
        Assert.That(b["encoder_block.2.0.weight"].ToDoubleArray(), Is.EqualTo(a["encoder_block.2.0.weight"].ToDoubleArray()));
        Assert.That(c["encoder_block.2.0.weight"].ToDoubleArray(), Is.Not.EqualTo(a["encoder_block.2.0.weight"].ToDoubleArray()));
    }

    [Test]
    public void StateDictRoundTripRestoresEveryEntry()
    {
        var source = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = 0.125, Seed = 1 });
        foreach (var bn in source.Modules().OfType<BatchNorm2d>())
        {
            Init.Normal(bn.RunningMean!, 0, 0.3, new Generator(2));
            bn.NumBatchesTracked!.FillInPlace(9);
        }
        var target = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = 0.125, Seed = 2 });
        target.LoadStateDict(source.StateDict());
        var expected = source.StateDict();
        foreach (var (key, value) in target.StateDict())
            Assert.That(value.ToDoubleArray(), Is.EqualTo(expected[key].ToDoubleArray()), key);
    }

    [Test]
    public void LoadingAWrongWidthNamesTheMismatchedEntries()
    {
        var small = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = 0.125 });
        var other = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = 0.25 });
        var ex = Assert.Throws<StateDictMismatchException>(() => small.LoadStateDict(other.StateDict()))!;
        Assert.That(ex.Mismatches, Has.Count.GreaterThan(500));
        Assert.That(ex.Message, Does.Contain("size mismatch for encoder_block.0.0.weight: copying a tensor of shape [16x3x3x3]"));
    }
}
