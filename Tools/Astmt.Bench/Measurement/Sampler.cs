namespace Astmt.Bench.Measurement;

/// <summary>Timing of one workload: median, min and max over the timed runs, and the GC collections during them.</summary>
internal sealed record Sample(double MedianMs, double MinMs, double MaxMs, int Runs, int GcCollections)
{
    /// <summary>Throughput in GFLOP/s for <paramref name="flops"/> floating-point operations per run, at the median.</summary>
    public double GflopPerS(double flops) => flops / (MedianMs * 1e6);
}

/// <summary>
/// The measurement method of every command: <c>warmup</c> untimed runs, then <c>reps</c> timed runs, reporting the median.
/// With a reference, runs alternate (ours, reference, ours, …) so that drifting clocks, thermal state and background load
/// hit both sides alike.
/// </summary>
internal static class Sampler
{
    /// <summary>The clock timed runs read (<c>--clock</c>); wall time unless set.</summary>
    public static ClockKind Clock { get; set; } = ClockKind.Wall;

    public static Sample Measure(Action run, int warmup, int reps) => Alternate(run, null, warmup, reps).Ours;

    public static (Sample Ours, Sample? Reference) Alternate(Action ours, Action? reference, int warmup, int reps)
    {
        for (int i = 0; i < warmup; i++)
        {
            ours();
            reference?.Invoke();
        }
        var oursMs = new double[reps];
        var refMs = new double[reps];
        int oursGc = 0, refGc = 0;
        for (int i = 0; i < reps; i++)
        {
            oursMs[i] = Time(ours, ref oursGc);
            if (reference is not null) refMs[i] = Time(reference, ref refGc);
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
