using Astmt.Engine.Cpu;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Cpu;

/// <summary>The persistent worker pool: coverage of ranges, nesting, exceptions and the thread-count setting.</summary>
[NonParallelizable]
public class ParallelismTests
{
    private int _saved;

    [SetUp] public void Save() => _saved = Parallelism.Threads;
    [TearDown] public void Restore() => Parallelism.Threads = _saved;

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(5)]
    public void ForVisitsEveryIndexExactlyOnce(int threads)
    {
        Parallelism.Threads = threads;
        for (int round = 0; round < 50; round++)
        {
            var hits = new int[1000 + round];
            Parallelism.For(0, hits.Length, 1, (s, e) => { for (int i = s; i < e; i++) Interlocked.Increment(ref hits[i]); });
            Assert.That(hits, Is.All.EqualTo(1));
        }
    }

    [Test]
    public void BackToBackShortRegionsEachCoverTheirRangeOnce()
    {
        // Thousands of regions shorter than a worker's wake-up: workers wake into later regions than the one that woke them,
        // and must neither claim a part of a region with another region's work nor be waited for.
        Parallelism.Threads = 2;
        var hits = new int[64];
        var state = hits;
        for (int round = 1; round <= 5000; round++)
        {
            Parallelism.For(0, hits.Length, 1, state, static (in int[] h, int s, int e) => { for (int i = s; i < e; i++) Interlocked.Increment(ref h[i]); });
            if (round % 1000 == 0) Assert.That(hits, Is.All.EqualTo(round), $"after {round} regions");
        }
    }

    [Test]
    public void AlternatingSmallAndLargeRegionsRunEachPartOnceBeforeReturning()
    {
        // A region with more parts than the one before: a worker that read the old claim word (every part claimed) and the
        // new part count must not claim "part P_old" of the new region before its claim word is published; that part ran
        // twice and uncounted, so the caller returned while it still ran (found through flaky Winograd tests).
        Parallelism.Threads = 2;
        var small = new int[2];
        var large = new int[64];
        for (int round = 1; round <= 4000; round++)
        {
            Parallelism.For(0, small.Length, 1, small, static (in int[] h, int s, int e) => { for (int i = s; i < e; i++) Interlocked.Increment(ref h[i]); });
            Parallelism.For(0, large.Length, 1, large, static (in int[] h, int s, int e) => { for (int i = s; i < e; i++) Interlocked.Increment(ref h[i]); });
            // Read right after the region returns: a part still running (or run twice) shows as a count off by one.
            int wrong = Array.FindIndex(large, h => h != round);
            if (wrong >= 0 || small[0] != round || small[1] != round)
                Assert.Fail($"region {round}: small [{small[0]}, {small[1]}], large[{Math.Max(0, wrong)}] = {large[Math.Max(0, wrong)]}, expected {round}");
        }
        Assert.That(large, Is.All.EqualTo(4000));
        Assert.That(small, Is.All.EqualTo(4000));
    }

    [Test]
    public void ForCutsARangeIntoSeveralPartsPerThread()
    {
        Parallelism.Threads = 2;
        var starts = new System.Collections.Concurrent.ConcurrentBag<int>();
        Parallelism.For(0, 1000, 10, (s, e) => starts.Add(s));
        Assert.That(starts, Has.Count.EqualTo(8), "two threads, four ranges each, so a late worker leaves the caller less to wait for");
        Assert.That(starts.Order(), Is.EqualTo(new[] { 0, 125, 250, 375, 500, 625, 750, 875 }));
    }

    [Test]
    public void CountsRecordPoolRegionsButNotInlineOnes()
    {
        Parallelism.Threads = 2;
        var before = Parallelism.Counts;
        int seen = 0;
        Parallelism.For(0, 1000, 10, (s, e) => Interlocked.Add(ref seen, e - s));
        Parallelism.Threads = 1;
        Parallelism.For(0, 1000, 10, (s, e) => Interlocked.Add(ref seen, e - s));
        var counted = Parallelism.Counts.Since(before);
        Assert.That(seen, Is.EqualTo(2000));
        Assert.That(counted.Regions, Is.EqualTo(1));
        Assert.That(counted.Parts, Is.EqualTo(8));
        Assert.That(counted.WorkerParts, Is.InRange(0, 8));
        Assert.That(counted.CallerWaits, Is.InRange(0, 1));
    }

    [Test]
    public void RunUsesAtMostThreadsPartsAndEachOnce()
    {
        Parallelism.Threads = 3;
        var work = new CountingWork();
        Parallelism.Run(work, 8);
        Assert.That(work.Parts, Is.EqualTo(3));
        Assert.That(work.Seen, Is.EqualTo(new[] { 1, 1, 1, 0, 0, 0, 0, 0 }));
    }

    [Test]
    public void NestedRegionsRunInlineWithoutDeadlock()
    {
        Parallelism.Threads = 2;
        long total = 0;
        Parallelism.For(0, 4, 1, (s, e) =>
        {
            for (int i = s; i < e; i++)
                Parallelism.For(0, 100, 1, (s2, e2) => Interlocked.Add(ref total, e2 - s2));
        });
        Assert.That(total, Is.EqualTo(400));
    }

    [Test]
    public void ExceptionInAWorkerReachesTheCaller()
    {
        Parallelism.Threads = 2;
        var ex = Assert.Throws<InvalidOperationException>(() =>
            Parallelism.For(0, 10, 1, (s, e) => { if (s > 0) throw new InvalidOperationException("boom from part 1"); }));
        Assert.That(ex!.Message, Does.Contain("boom"));
        // The pool is usable afterwards.
        int count = 0;
        Parallelism.For(0, 10, 1, (s, e) => Interlocked.Add(ref count, e - s));
        Assert.That(count, Is.EqualTo(10));
    }

    [Test]
    public void ThreadCountBelowOneIsRejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.Threads = 0);

    private sealed class CountingWork : IParallelWork
    {
        public readonly int[] Seen = new int[8];
        public int Parts;

        public void Execute(int part, int parts)
        {
            Parts = parts;
            Interlocked.Increment(ref Seen[part]);
        }
    }
}
