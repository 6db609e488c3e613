using System.Globalization;
using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Optim;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>
/// The buffer pool bounds its resident set: past the rented high-water mark plus <see cref="BufferPool.ResidentSlackBytes"/>,
/// idle arrays give their pages back to the OS (Linux) and stay pooled. Checked against the process's own page accounting
/// (<c>/proc/self/statm</c>), against the zero pages the kernel maps in after a release, and against a training run whose
/// arrays never left memory (the oracle: results must be bit-identical).
/// </summary>
[NonParallelizable]
public class PoolPageReleaseTests
{
    private long _savedSlack;

    [SetUp]
    public void SaveSlack() => _savedSlack = BufferPool.ResidentSlackBytes;

    [TearDown]
    public void RestoreSlack()
    {
        BufferPool.ResidentSlackBytes = _savedSlack;
        BufferPool.ResetHighWaterMark();
    }

    [Test]
    public void AnIdleArrayPastTheBudgetGivesItsPagesBackAndServesItsNextRenter()
    {
        Assume.That(OperatingSystem.IsLinux(), "only Linux releases pages");
        BufferPool.ResidentSlackBytes = 0;
        BufferPool.ResetHighWaterMark();
        // An unusual length, so no other test left an idle array of it in the pool.
        const int n = (8 << 20) + 12_345;
        const int page = 4096 / sizeof(float);
        var a = BufferPool.Rent<float>(n, clear: false);
        a.AsSpan().Fill(1.5f);
        BufferPool.Return(a);
        long released0 = BufferPool.ReleasedBytes, rss0 = ResidentBytes();

        // Another length cannot reuse a; holding both resident would pass the high-water mark (+0), so a goes first.
        var b = BufferPool.Rent<float>(n + 1, clear: false);
        long rss1 = ResidentBytes();
        Assert.That(BufferPool.ReleasedBytes - released0, Is.GreaterThanOrEqualTo(4L * n - 2 * 4096), "bytes released");
        Assert.That(rss0 - rss1, Is.GreaterThan(24L << 20), "the process's resident set shrank by a's pages (b is not touched yet)");
        Assert.That(a.AsSpan(page, n - 2 * page).ContainsAnyExcept(0f), Is.False, "a released page reads as a fresh zero page");
        Assert.That(BufferPool.ResidentBytes, Is.LessThanOrEqualTo(BufferPool.RentedBytes + BufferPool.PooledBytes - 4L * n + 2 * 4096));

        b.AsSpan().Fill(2f);
        BufferPool.Return(b);
        var again = BufferPool.Rent<float>(n, clear: false);
        Assert.That(again, Is.SameAs(a), "the released array is still pooled: renting its length creates nothing");
        again.AsSpan().Fill(3f);
        Assert.That(again.AsSpan().ContainsAnyExcept(3f), Is.False, "the new owner's writes land in fresh pages");
        Assert.That(b.AsSpan(page, n + 1 - 2 * page).ContainsAnyExcept(0f), Is.False, "b, idle past the budget, was released in turn");
        BufferPool.Return(again);
    }

    [Test]
    public void TrainingOnReleasedArraysMatchesTrainingOnResidentOnesBitForBit()
    {
        Assume.That(OperatingSystem.IsLinux(), "only Linux releases pages");
        BufferPool.ResidentSlackBytes = long.MaxValue;
        var resident = Train(releaseBetweenSteps: false);
        int parameterTensors = new SmallConvNet(seed: 11).Parameters().Count();
        // The first run's parameters and optimizer state return through their finalizers, ready for the second run.
        for (int i = 0; i < 2; i++) Finalizers.Settle();
        long released0 = BufferPool.ReleasedBytes, arrays0 = BufferPool.ArraysCreated;
        var released = Train(releaseBetweenSteps: true);

        // Activations of 2x6x192x192 floats (1.8 MB) and the im2col bands are large enough to be released.
        Assert.That(BufferPool.ReleasedBytes - released0, Is.GreaterThan(16L << 20), "the second run's steps ran on released arrays");
        // Persistent state (each parameter's gradient and Adam's two moments) never takes a temporary's array (BufferPool.RentNew):
        // it is created new, or reuses persistent arrays that earlier state returned. Every temporary of the steps must come from
        // the released, still pooled arrays.
        Assert.That(parameterTensors, Is.GreaterThan(0));
        Assert.That(BufferPool.ArraysCreated - arrays0, Is.LessThanOrEqualTo(3 * parameterTensors),
            "releasing pages keeps the arrays: the second run creates at most its gradients and optimizer moments");
        Assert.That(released.Losses, Is.EqualTo(resident.Losses));
        Assert.That(released.Parameters, Is.EqualTo(resident.Parameters));
    }

    private static (double[] Losses, float[] Parameters) Train(bool releaseBetweenSteps)
    {
        const int batch = 2, height = 192, width = 192, steps = 3;
        var model = new SmallConvNet(seed: 11);
        var parameters = model.Parameters().ToArray();
        var optimizer = new Adam(parameters, learningRate: 1e-2);
        var rng = new Random(3);
        using var image = Numeric.RandomFloat(rng, batch, 3, height, width);
        var labelData = new long[batch * height * width];
        for (int i = 0; i < labelData.Length; i++) labelData[i] = rng.Next(SmallConvNet.Classes);
        using var labels = Tensor.FromArray(labelData, batch, height, width);
        using var depth = Numeric.RandomFloat(rng, batch, 1, height, width);
        var losses = new double[steps];
        for (int s = 0; s < steps; s++)
        {
            if (releaseBetweenSteps) BufferPool.ReleaseIdle();
            optimizer.ZeroGrad();
            var (logits, predictedDepth) = model.Forward(image);
            var loss = F.Add(F.CrossEntropy(logits, labels), F.Mean(F.Abs(F.Sub(predictedDepth, depth))));
            loss.Backward();
            optimizer.Step();
            losses[s] = loss.Item();
            loss.Dispose();
        }
        return (losses, parameters.SelectMany(p => p.ToArray<float>()).ToArray());
    }

    private static long ResidentBytes()
    {
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }
}
