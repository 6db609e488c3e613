using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

public class SpatialOpsMemoryTests
{
    [Test]
    public void TrainingStepReusesPooledBuffersAfterWarmUp()
    {
        var rng = new Random(51);
        var x = Numeric.RandomFloat(rng, 2, 3, 17, 19);
        var w1 = Numeric.RandomFloat(rng, 8, 3, 3, 3);
        var b1 = Numeric.RandomFloat(rng, 8);
        var gamma = Numeric.RandomFloat(rng, 8);
        var beta = Numeric.RandomFloat(rng, 8);
        var w2 = Numeric.RandomFloat(rng, 4, 8, 1, 1);
        var rm = Tensor.Zeros([8]);
        var rv = Tensor.Ones([8]);
        var seed = Tensor.Scalar(1.0);
        Tensor[] parameters = [w1, b1, gamma, beta, w2];
        foreach (var p in parameters) p.RequiresGrad = true;

        void Step()
        {
            var h = F.BatchNormRelu2d(F.Conv2d(x, w1, b1, 1, 2, 2), gamma, beta, rm, rv, training: true);
            var (pooled, indices) = F.MaxPool2dWithIndices(h, 2, 2);
            var coarse = F.MaxPool2d(pooled, 3, 2, 1);
            var refined = F.Interpolate(coarse, pooled.Shape[2], pooled.Shape[3], ResizeMode.Bilinear, alignCorners: true);
            var up = F.MaxUnpool2d(refined, indices, h.Shape[2], h.Shape[3]);
            var y = F.Conv2d(F.Interpolate(up, 2.0, ResizeMode.Nearest), w2, null);
            // An explicit seed: the implicit one of a scalar Backward() is the autograd's allocation, not these ops'.
            F.Sum(F.Mul(y, y)).Backward(seed);
        }

        Step(); // warm-up: the pool creates every buffer size once (gradients accumulate in place afterwards)
        Step();
        long created = BufferPool.ArraysCreated;
        for (int i = 0; i < 3; i++) Step();

        Assert.That(BufferPool.ArraysCreated - created, Is.EqualTo(0), "arrays created by the pool during steady-state steps");
        Assert.That(Autograd.Autograd.ArenaTensorCount, Is.EqualTo(0), "tensors left in the step arena after Backward()");
    }
}
