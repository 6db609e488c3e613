using Astmt.Engine.Autograd;
using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>Persistent state that is dropped and made again every step (a gradient set to none) reuses its own arrays, never a
/// temporary's; and a caller-made tensor handed to the step arena returns to the pool with the graph.</summary>
[NonParallelizable]
public class PersistentStateReuseTests
{
    [Test]
    public void RentNewTakesBackOnlyPersistentArrays()
    {
        const int n = 12_347; // a length no other test uses, so the buckets start empty
        var persistent = BufferPool.RentNew<float>(n, clear: false);
        BufferPool.ReturnPersistent(persistent);
        var temporary = BufferPool.Rent<float>(n, clear: false);
        Assert.That(temporary, Is.Not.SameAs(persistent), "Rent does not take a persistent array");
        long created = BufferPool.ArraysCreated;
        var again = BufferPool.RentNew<float>(n, clear: true);
        Assert.That(again, Is.SameAs(persistent), "RentNew takes the returned persistent array");
        Assert.That(BufferPool.ArraysCreated, Is.EqualTo(created));
        Assert.That(again.AsSpan().ContainsAnyExcept(0f), Is.False, "clear zeroes a reused array");
        BufferPool.Return(temporary);
        var fresh = BufferPool.RentNew<float>(n, clear: false);
        Assert.That(fresh, Is.Not.SameAs(temporary), "RentNew does not take a temporary's array");
        BufferPool.ReturnPersistent(again);
        BufferPool.ReturnPersistent(fresh);
    }

    [Test]
    public void GradientsSetToNoneAndDisposedAreRecreatedWithoutNewArrays()
    {
        var rng = new Random(4);
        using var x = Support.Numeric.RandomFloat(rng, 3, 1_001);
        var w = Support.Numeric.RandomFloat(rng, 1_001, 7);
        w.RequiresGrad = true;
        void Step()
        {
            using var loss = F.Sum(F.MatMul(x, w));
            loss.Backward();
            var g = w.Grad!;
            w.Grad = null;
            g.Dispose();
        }
        Step();
        long created = BufferPool.ArraysCreated;
        for (int i = 0; i < 3; i++) Step();
        Assert.That(BufferPool.ArraysCreated - created, Is.EqualTo(0), "arrays created by steps that drop and dispose the gradient");
    }

    [Test]
    public void AdoptedTensorIsReleasedWhenBackwardFreesTheGraph()
    {
        var rng = new Random(5);
        var w = Support.Numeric.RandomFloat(rng, 4, 5);
        w.RequiresGrad = true;
        var constant = StepOwnership.Adopt(Tensor.Full([4, 5], 2.0));
        var loss = F.Sum(F.Mul(w, constant));
        loss.Backward();
        Assert.That(constant.IsReleased, Is.True, "the adopted tensor went back with the step's temporaries");
        Assert.That(w.Grad!.ToDoubleArray(), Is.All.EqualTo(2.0), "the gradient was computed from it before the release");

        Tensor kept;
        using (AG.NoGrad()) kept = StepOwnership.Adopt(Tensor.Full([4, 5], 1.0));
        AG.ReleaseStep();
        Assert.That(kept.IsReleased, Is.False, "outside recording the tensor stays the caller's");
        kept.Dispose();
        loss.Dispose();
    }
}
