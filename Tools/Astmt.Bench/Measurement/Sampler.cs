namespace Astmt.Bench.Measurement;

/// <summary>Timing of one workload: median, min and max over the timed runs, and the GC collections during them.</summary>
internal sealed record Sample(double MedianMs, double MinMs, double MaxMs, int Runs, int GcCollections)
{
    /// <summary>Throughput in GFLOP/s for <paramref name="flops"/> floating-point operations per run, at the median.</summary>
    public double GflopPerS(double flops) => flops / (MedianMs * 1e6);
}

/// <summary>
/// The measurement method of every command: <c>warmup</c> untimed runs, then <c>reps</c> timed runs, reporting the median.
/// With a reference, runs alternate in blocks (ours × block, reference × block, …) so that drifting clocks, thermal state and
/// background load hit both sides alike. Each block starts with a changeover: idle threads do not stop at once (OpenBLAS's
/// workers spin-yield for about 0.1 s after each call, 2^28 cycles; libgomp's for several milliseconds), so without one the
/// side that runs next loses a core to the side that ran before. Measured on a 128×768×2304 SGEMM at 2 threads: ours took
/// 2.2 ms right after an OpenBLAS call and 1.03 ms alone, while OpenBLAS's own time did not move. An idle pause is no cure
/// for millisecond workloads: after one, the idle virtual CPUs are slow to come back (1.1–1.8 ms with no reference at all).
/// So <see cref="Changeover"/> either keeps the machine busy with untimed runs of the next side until the other side's
/// threads are asleep (short workloads), or pauses (workloads of hundreds of milliseconds, where that wake-up is noise).
/// </summary>
internal static class Sampler
{
    /// <summary>The clock timed runs read (<c>--clock</c>); wall time unless set.</summary>
    public static ClockKind Clock { get; set; } = ClockKind.Wall;

    public static Sample Measure(Action run, int warmup, int reps) => Alternate(run, null, warmup, reps, block: 1, Changeover.None).Ours;

    /// <summary>Times <paramref name="ours"/> and, when given, <paramref name="reference"/>: <paramref name="reps"/> timed runs
    /// each, in alternating blocks of <paramref name="block"/> runs, each block preceded by <paramref name="changeover"/>.</summary>
    public static (Sample Ours, Sample? Reference) Alternate(Action ours, Action? reference, int warmup, int reps, int block, Changeover changeover)
    {
        for (int i = 0; i < warmup; i++)
        {
            ours();
            reference?.Invoke();
        }
        var oursMs = new double[reps];
        var refMs = new double[reps];
        int oursGc = 0, refGc = 0;
        block = Math.Max(1, block);
        for (int first = 0; first < reps; first += block)
        {
            int last = Math.Min(reps, first + block);
            if (reference is not null) changeover.Before(ours);
            for (int i = first; i < last; i++) oursMs[i] = Time(ours, ref oursGc);
            if (reference is null) continue;
            changeover.Before(reference);
            for (int i = first; i < last; i++) refMs[i] = Time(reference, ref refGc);
        }
        return (Summarise(oursMs, oursGc), reference is null ? null : Summarise(refMs, refGc));
    }

    private static double Time(Action run, ref int gcCount)
    {
        int gc0 = GC.CollectionCount(0);
        double t0 = Clocks.NowMs(Clock);
        run();
        double t1 = Clocks.NowMs(Clock);
        gcCount += GC.CollectionCount(0) - gc0;
        return t1 - t0;
    }

    private static Sample Summarise(double[] ms, int gc)
    {
        var sorted = (double[])ms.Clone();
        Array.Sort(sorted);
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        return new Sample(median, sorted[0], sorted[^1], n, gc);
    }
}

/// <summary>What happens between one side's block of timed runs and the other's (see <see cref="Sampler"/>).</summary>
/// <param name="PauseMs">Idle time first.</param>
/// <param name="BusyMs">Then untimed runs of the next side, at least one, until this much time has passed.</param>
internal readonly record struct Changeover(int PauseMs, int BusyMs)
{
    /// <summary>Nothing between blocks.</summary>
    public static Changeover None => new(0, 0);

    /// <summary>Untimed runs of the next side for longer than OpenBLAS's 2^28-cycle spin after a call (about 0.1 s).</summary>
    public static Changeover OutlastSpinningThreads => new(0, 150);

    public void Before(Action next)
    {
        if (PauseMs > 0) Thread.Sleep(PauseMs);
        if (BusyMs <= 0) return;
        long end = System.Diagnostics.Stopwatch.GetTimestamp() + BusyMs * System.Diagnostics.Stopwatch.Frequency / 1000;
        do next(); while (System.Diagnostics.Stopwatch.GetTimestamp() < end);
    }
}
