using Astmt.Engine.Autograd;
using Astmt.Engine.NN;
using NUnit.Framework;

namespace Astmt.Engine.Tests.NN;

public class FlopCounterTests
{
    [Test]
    public void CountsConvAndLinearMultiplyAccumulatesWhileActive()
    {
        var conv = new Conv2d(3, 8, 3, stride: 2, padding: 1);
        var linear = new Linear(10, 4);
        using (Autograd.Autograd.NoGrad())
        {
            conv.Forward(Tensor.Zeros([2, 3, 9, 11])); // not counted: no counter yet
            using var outer = FlopCounter.Start();
            conv.Forward(Tensor.Zeros([2, 3, 9, 11])); // output 2x8x5x6, each over 3x3x3 taps
            using (var inner = FlopCounter.Start())
            {
                linear.Forward(Tensor.Zeros([5, 10]));
                Assert.That(inner.MultiplyAccumulates, Is.EqualTo(5 * 4 * 10));
            }
            Assert.That(outer.MultiplyAccumulates, Is.EqualTo(2L * 8 * 5 * 6 * 27), "the inner counter took the linear layer");
            Assert.That(outer.Layers, Is.EqualTo(1));
        }
    }
}
