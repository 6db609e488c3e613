using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>
/// Eval-mode inference written plainly (no using, no collection by the caller): its intermediates have no owner that frees them
/// at a known point and return through the finalizer. The pool's unowned-bytes threshold must keep what is rented bounded by the
/// live set plus that threshold, instead of growing until the GC happens to run.
/// </summary>
[NonParallelizable]
public class InferenceLoopMemoryTests
{
    [Test]
    public void NoGradPassesStayWithinTheUnownedThreshold() => WithUnownedThreshold(32L << 20, () =>
    {
        var x = Tensor.Full([4, 16, 64, 64], 0.5); // 1 MiB
        long before = BufferPool.RentedBytes;
        long peak = 0;
        for (int pass = 0; pass < 40; pass++)
            peak = Math.Max(peak, RentedAfterOnePass(x) - before);
        // One pass creates 24 MiB of intermediates (24 ops of 1 MiB) and keeps none; 40 passes create 960 MiB in all.
        // Without collections the rented bytes would reach that; with them, at most the threshold plus one pass.
        Assert.That(peak, Is.LessThanOrEqualTo((32L << 20) + (24L << 20) + (1L << 20)),
            $"rented bytes above the start reached {peak / (1 << 20)} MiB");
        GC.KeepAlive(x);
    });

    [Test]
    public void DisposedUnownedTensorsNeverInduceACollection() => WithUnownedThreshold(1L << 20, () =>
    {
        var x = Tensor.Full([4, 16, 32, 32], 0.5); // 256 KiB
        using (AG.NoGrad())
        {
            F.Relu(x).Dispose(); // fills the pool
            Finalizers.Settle();
            int collections = GC.CollectionCount(0);
            double sum = 0;
            for (int i = 0; i < 200; i++) // 50 MiB of no-grad outputs outside any module, 50 times the threshold
            {
                using var h = F.Relu(x);
                sum += h.Span<float>()[0];
            }
            Assert.That(GC.CollectionCount(0), Is.EqualTo(collections), "what was disposed does not count toward the threshold");
            Assert.That(sum, Is.EqualTo(100.0));
        }
        GC.KeepAlive(x);
    });

    // Runs body with the pool's unowned-bytes threshold set to thresholdBytes, and restores the previous one whatever happens.
    private static void WithUnownedThreshold(long thresholdBytes, Action body)
    {
        long saved = BufferPool.UnownedCollectThresholdBytes;
        BufferPool.UnownedCollectThresholdBytes = thresholdBytes;
        try
        {
            body();
        }
        finally
        {
            BufferPool.UnownedCollectThresholdBytes = saved;
        }
    }

    // Not inlined, so no stack slot of the test keeps a pass's last intermediate alive.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long RentedAfterOnePass(Tensor x)
    {
        using (AG.NoGrad())
        {
            var h = x;
            for (int i = 0; i < 8; i++) h = F.Relu(F.Add(F.Mul(h, 0.9), 0.01));
            Assert.That(h.Shape, Is.EqualTo(x.Shape));
        }
        return BufferPool.RentedBytes;
    }
}
