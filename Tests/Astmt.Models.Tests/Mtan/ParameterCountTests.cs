using Astmt.Models.Mtan;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

/// <summary>Exact parameter counts against the spec's hand arithmetic (§6), which the PyTorch reference reproduces.</summary>
public class ParameterCountTests
{
    private static long Count(string name, MtanDataset dataset = MtanDataset.NyuV2, MtanTask task = MtanTask.Semantic) =>
        MtanModels.Create(name, new MtanModelOptions { Dataset = dataset, SingleTask = task, Initialize = false }).ParameterCount();

    [TestCase("mtan-segnet", 44_229_076L)]
    [TestCase("segnet-single", 24_981_069L)]
    [TestCase("segnet-split", 25_055_188L)]
    [TestCase("segnet-split-wide", 43_934_164L)]
    [TestCase("segnet-split-deep", 50_807_764L)]
    [TestCase("segnet-dense", 123_743_995L)]
    [TestCase("segnet-cross-stitch", 74_941_807L)]
    public void NyuV2ModelsHaveThePapersCounts(string name, long expected) => Assert.That(Count(name), Is.EqualTo(expected));

    [Test]
    public void CityScapesMtanHasItsCount() => Assert.That(Count("mtan-segnet", MtanDataset.CityScapes), Is.EqualTo(41_206_986L));

    [Test]
    public void SingleTaskCountsSumToTheSpecsTripleColumns()
    {
        MtanTask[] tasks = [MtanTask.Semantic, MtanTask.Depth, MtanTask.Normal];
        Assert.That(tasks.Sum(t => Count("segnet-single", task: t)), Is.EqualTo(74_941_777L), "3 x single task");
        Assert.That(tasks.Sum(t => Count("stan", task: t)), Is.EqualTo(114_555_985L), "3 x STAN");
    }

    [Test]
    public void CityScapesRatiosMatchTheSpec()
    {
        double single = 24_980_679;
        Assert.That(Count("segnet-single", MtanDataset.CityScapes), Is.EqualTo(24_980_679L));
        Assert.That(Count("segnet-dense", MtanDataset.CityScapes) / single, Is.EqualTo(3.63).Within(0.005));
        Assert.That(Count("segnet-cross-stitch", MtanDataset.CityScapes) / single, Is.EqualTo(2.00).Within(0.005));
    }

    [Test]
    public void UnknownNamesAreRejectedWithTheList()
    {
        Assert.That(() => MtanModels.Create("segnet-huge"), Throws.ArgumentException.With.Message.Contains("mtan-segnet").And.Message.Contains("segnet-cross-stitch"));
    }

    [Test]
    public void ClassCountOverrideChangesOnlyTheSemanticHead()
    {
        var model = MtanModels.Create("mtan-segnet", new MtanModelOptions { Dataset = MtanDataset.CityScapes, ClassCount = 19, Initialize = false });
        Assert.That(model.ClassCount, Is.EqualTo(19));
        Assert.That(model.ParameterCount() - Count("mtan-segnet", MtanDataset.CityScapes), Is.EqualTo((19 - 7) * 65L)); // 64 weights + 1 bias per class
    }
}
