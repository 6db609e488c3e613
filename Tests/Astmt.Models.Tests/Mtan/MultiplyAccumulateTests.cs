using Astmt.Models.Mtan;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

public class MultiplyAccumulateTests
{
    // Conv MACs at 288x384 counted by PyTorch forward hooks on the reference networks (output numel x C x R x S per Conv2d):
    // full width for the single-task SegNet, filters/4 (16,32,64,128,128) for the others to keep the test fast. At full width
    // the hooks give 216,045,453,312 for mtan-segnet and 325,823,496,192 for segnet-dense.
    [TestCase("segnet-single", 1.0, 60_416_851_968L)]
    [TestCase("mtan-segnet", 0.25, 13_561_233_408L)]
    [TestCase("segnet-dense", 0.25, 20_685_127_680L)]
    [TestCase("segnet-cross-stitch", 0.25, 11_448_483_840L)]
    public void ConvMultiplyAccumulatesMatchPyTorchHooks(string name, double width, long expected)
    {
        var model = MtanModels.Create(name, new MtanModelOptions { Width = width, Initialize = false });
        foreach (var p in model.Parameters()) p.FillInPlace(0); // uninitialised memory could hold NaN; the count ignores values
        Assert.That(MtanModels.MultiplyAccumulatesPerImage(model, 288, 384), Is.EqualTo(expected));
        Assert.That(model.Training, Is.True, "the training mode is restored");
    }

    [Test]
    public void SizesMustBeMultiplesOf32()
    {
        var model = MtanModels.Create("segnet-single", new MtanModelOptions { Width = 1.0 / 32 });
        Assert.That(() => MtanModels.MultiplyAccumulatesPerImage(model, 100, 64), Throws.ArgumentException.With.Message.Contains("multiples of 32"));
    }
}
