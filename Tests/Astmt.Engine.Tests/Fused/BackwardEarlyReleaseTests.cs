using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Fused;

/// <summary>Backward returns consumed gradients to the pool as it goes; gradients shared by several consumers or views must survive.</summary>
[NonParallelizable]
public class BackwardEarlyReleaseTests
{
    [Test]
    public void SharedAndViewedGradientsStayValidUntilTheirLastConsumer()
    {
        var rng = new Random(41);
        var x = Numeric.RandomDouble(rng, 3, 4);
        x.RequiresGrad = true;
        // Add hands the same gradient tensor to both of its inputs (here one producer twice), Reshape hands on a view.
        var y = F.Add(F.Mul(x, x), x);
        var z = F.Add(y, y);
        var w = F.Mul(F.Reshape(z, 4, 3), 3.0);
        var loss = F.Sum(F.Mul(w, w));
        loss.Backward();

        // loss = Σ 9·z², z = 2(x² + x), so dloss/dx = 18·z·2(2x + 1).
        var xs = x.ToDoubleArray();
        var expected = xs.Select(v => 36 * 2 * (v * v + v) * (2 * v + 1)).ToArray();
        Numeric.AssertClose(expected, x.Grad!.ToDoubleArray(), 1e-12, 1e-12, "dloss/dx");
    }

    [Test]
    public void RepeatedStepsReuseTheSameBuffers()
    {
        var rng = new Random(42);
        var x = Numeric.RandomFloat(rng, 2, 8, 32, 32);
        var w = Numeric.RandomFloat(rng, 8, 8, 3, 3);
        w.RequiresGrad = true;
        void Step()
        {
            var h = x;
            for (int i = 0; i < 6; i++) h = F.Relu(F.Conv2d(h, w, null, padding: 1));
            // The loss leaves the arena caller-owned (readable after backward) and would come back only through its finalizer;
            // disposing it keeps this count about the step's own buffers whether or not the GC ran (it failed when run alone).
            using var loss = F.Sum(h);
            loss.Backward();
        }
        Step();
        Step();
        long created = Memory.BufferPool.ArraysCreated;
        Step();
        Assert.That(Memory.BufferPool.ArraysCreated, Is.EqualTo(created), "a steady-state step should rent only pooled arrays");
    }
}
