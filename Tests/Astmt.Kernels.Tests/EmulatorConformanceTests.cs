using Astmt.Engine.Cuda;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>The emulator's own guarantees: barriers, shared memory, shuffles, votes, atomics, early exit, dynamic shared memory,
/// 2-D indexing, deadlock reporting, and that the schedules expose a missing barrier.</summary>
[TestFixture, Category("Emulator")]
public class EmulatorConformanceTests
{
    private static readonly EmulatorSchedule[] Schedules = Emu.Schedules;

    [Test]
    public void BarrierMakesNeighbourWritesVisible([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        const int blocks = 3, threads = 96;
        using var outBuf = new CudaDeviceVariable<int>(Emu.Context, blocks * threads);
        Emu.Launch("conf_barrier_shared", blocks, threads, 0, outBuf);
        var got = outBuf.ToArray();
        for (int b = 0; b < blocks; b++)
            for (int t = 0; t < threads; t++)
                Assert.That(got[b * threads + t], Is.EqualTo((t + 1) % threads + 1 + 1000 * b), $"block {b} thread {t}");
    }

    [Test]
    public void SchedulesExposeAMissingBarrier()
    {
        const int threads = 64;
        bool Correct(EmulatorSchedule s)
        {
            Emu.Use(s);
            using var outBuf = new CudaDeviceVariable<int>(Emu.Context, threads);
            Emu.Launch("conf_missing_barrier", 1, threads, 0, outBuf);
            var got = outBuf.ToArray();
            return Enumerable.Range(0, threads).All(t => got[t] == (t + 1) % threads + 1);
        }
        Assert.That(Correct(EmulatorSchedule.Forward) && Correct(EmulatorSchedule.Reverse), Is.False,
            "a kernel that reads a neighbour's shared-memory write without __syncthreads must fail under at least one schedule");
    }

    [Test]
    public void BlockSumUsesShufflesAndSharedMemory([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(1);
        const int blocks = 4, threads = 224;
        var input = Oracle.AsFloat(Oracle.Normal(rng, blocks * threads));
        using var inBuf = Emu.Up(input);
        using var outBuf = Emu.Poisoned(blocks);
        Emu.Launch("conf_block_sum", blocks, threads, 0, outBuf, inBuf);
        var expected = Enumerable.Range(0, blocks).Select(b => input.Skip(b * threads).Take(threads).Sum()).ToArray();
        Oracle.Close(expected, Emu.Down(outBuf), 1e-4, 1e-5, "block sum");
    }

    [Test]
    public void ShufflesMatchTheirDefinition([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        const int n = 128;
        var input = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        using var inBuf = Emu.Up(input);
        using var down = Emu.Poisoned(n);
        using var up = Emu.Poisoned(n);
        using var xr = Emu.Poisoned(n);
        using var idx = Emu.Poisoned(n);
        using var seg = Emu.Poisoned(n);
        Emu.Launch("conf_shuffles", 2, 64, 0, down, up, xr, idx, seg, inBuf);
        var eDown = new double[n]; var eUp = new double[n]; var eXor = new double[n]; var eIdx = new double[n]; var eSeg = new double[n];
        for (int i = 0; i < n; i++)
        {
            int lane = i % 32, warpBase = i - lane;
            eDown[i] = lane + 3 < 32 ? i + 3 : i;
            eUp[i] = lane >= 5 ? i - 5 : i;
            eXor[i] = warpBase + (lane ^ 7);
            eIdx[i] = warpBase + 31 - lane;
            eSeg[i] = warpBase + (lane & ~7) + 2;
        }
        Oracle.Close(eDown, Emu.Down(down), 0, 0, "shfl_down 3");
        Oracle.Close(eUp, Emu.Down(up), 0, 0, "shfl_up 5");
        Oracle.Close(eXor, Emu.Down(xr), 0, 0, "shfl_xor 7");
        Oracle.Close(eIdx, Emu.Down(idx), 0, 0, "shfl 31-lane");
        Oracle.Close(eSeg, Emu.Down(seg), 0, 0, "shfl lane 2 of width 8");
    }

    [Test]
    public void VotesMatchTheirDefinition([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        const int n = 96;
        var input = new double[n];
        for (int i = 0; i < 32; i++) input[i] = i % 3 == 0 ? 1 : -1; // warp 0: mixed
        for (int i = 32; i < 64; i++) input[i] = 1;                  // warp 1: all
        for (int i = 64; i < 96; i++) input[i] = -1;                 // warp 2: none
        using var inBuf = Emu.Up(input);
        using var ballot = new CudaDeviceVariable<uint>(Emu.Context, 3);
        using var any = new CudaDeviceVariable<int>(Emu.Context, 3);
        using var all = new CudaDeviceVariable<int>(Emu.Context, 3);
        Emu.Launch("conf_votes", 1, n, 0, ballot, any, all, inBuf);
        uint mixed = 0;
        for (int i = 0; i < 32; i++) if (i % 3 == 0) mixed |= 1u << i;
        Assert.That(ballot.ToArray(), Is.EqualTo(new[] { mixed, 0xffffffffu, 0u }));
        Assert.That(any.ToArray(), Is.EqualTo(new[] { 1, 1, 0 }));
        Assert.That(all.ToArray(), Is.EqualTo(new[] { 0, 1, 0 }));
    }

    [Test]
    public void AtomicsFromManyBlocksAddUp([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        const int n = 5000;
        var input = Enumerable.Range(0, n).Select(i => (double)(i % 97)).ToArray();
        using var inBuf = Emu.Up(input);
        using var counter = new CudaDeviceVariable<int>(Emu.Context, 1);
        using var sum = Emu.Zeros(1);
        using var max = new CudaDeviceVariable<int>(Emu.Context, 1);
        counter.Clear();
        max.Clear();
        Emu.Launch("conf_atomics", 7, 128, 0, counter, sum, max, inBuf, n);
        Assert.That(counter.ToArray()[0], Is.EqualTo(n));
        Assert.That(sum.ToArray()[0], Is.EqualTo((float)input.Sum()), "integers below 2^24 add exactly in float32");
        Assert.That(max.ToArray()[0], Is.EqualTo(96));
    }

    [Test]
    public void ThreadsThatReturnEarlyCountAsArrived([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        const int threads = 128, live = 45;
        using var outBuf = new CudaDeviceVariable<int>(Emu.Context, threads);
        outBuf.Clear();
        Emu.Launch("conf_early_exit", 1, threads, 0, outBuf, live);
        var got = outBuf.ToArray();
        for (int t = 0; t < threads; t++) Assert.That(got[t], Is.EqualTo(t < live ? 2 * (live - 1 - t) : 0), $"thread {t}");
    }

    [Test]
    public void DynamicSharedMemoryIsSizedAtLaunchAndPerBlock([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        const int blocks = 5, threads = 160;
        var input = Enumerable.Range(0, blocks * threads).Select(i => (double)i).ToArray();
        using var inBuf = Emu.Up(input);
        using var outBuf = Emu.Poisoned(blocks * threads);
        Emu.Launch("conf_dynamic_shared", blocks, threads, threads * sizeof(float), outBuf, inBuf);
        var expected = new double[blocks * threads];
        for (int b = 0; b < blocks; b++) for (int t = 0; t < threads; t++) expected[b * threads + t] = b * threads + threads - 1 - t;
        Oracle.Close(expected, Emu.Down(outBuf), 0, 0, "reversed slices");
    }

    [Test]
    public void TwoDimensionalGridsAndBlocksIndexLikeCuda()
    {
        Emu.Use(EmulatorSchedule.Random);
        var grid = new Dim3(3, 2);
        var block = new Dim3(8, 4);
        int width = 24, height = 8;
        using var outBuf = new CudaDeviceVariable<int>(Emu.Context, width * height);
        Emu.Launch("conf_indices", grid, block, 0, outBuf);
        var got = outBuf.ToArray();
        for (int y = 0; y < height; y++) for (int x = 0; x < width; x++) Assert.That(got[y * width + x], Is.EqualTo(y * 10000 + x));
    }

    [Test]
    public void DeadlockIsReportedNotHung()
    {
        Emu.Use(EmulatorSchedule.Forward);
        using var outBuf = new CudaDeviceVariable<int>(Emu.Context, 64);
        var ex = Assert.Throws<EmulatorException>(() => Emu.Launch("conf_deadlock", 1, 64, 0, outBuf));
        Assert.That(ex!.Message, Does.Contain("deadlock").And.Contain("conf_deadlock"));
    }

    [Test]
    public void BadLaunchesFailWithTheKernelNameAndShape()
    {
        using var outBuf = new CudaDeviceVariable<int>(Emu.Context, 64);
        var ex = Assert.Throws<EmulatorException>(() => Emu.Launch("conf_indices", 1, new Dim3(2048), 0, outBuf));
        Assert.That(ex!.Message, Does.Contain("conf_indices").And.Contain("2048"));
        var missing = Assert.Throws<EmulatorException>(() => new CudaKernel(Emu.Context, "no_such_kernel"));
        Assert.That(missing!.Message, Does.Contain("no_such_kernel"));
    }

    [Test]
    public void EveryKernelInTheSourcesIsCompiledIntoTheEmulator()
    {
        _ = Emu.Context;
        Assert.That(EmulatorContext.KernelNames.Order(), Is.EqualTo(KernelSources.AllKernels.Order()),
            "each extern \"C\" __global__ kernel needs an ASTMT_REGISTER_KERNEL line");
    }
}
