namespace Astmt.Engine.Cpu;

/// <summary>
/// How many threads CPU kernels use (<c>--threads</c>). Work is split into contiguous ranges, one per thread, so results do not
/// depend on scheduling; reductions that cross ranges combine partial results in a fixed order.
/// </summary>
public static class Parallelism
{
    private static int _threads = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Number of worker threads (at least 1). Defaults to the processor count.</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"Thread count must be at least 1, got {value}.");
    }

    /// <summary>Runs <paramref name="body"/> over [<paramref name="start"/>, <paramref name="end"/>) split into at most
    /// <see cref="Threads"/> ranges of at least <paramref name="minChunk"/> items.</summary>
    public static void For(int start, int end, int minChunk, Action<int, int> body)
    {
        int n = end - start;
        if (n <= 0) return;
        int parts = Math.Min(_threads, Math.Max(1, n / Math.Max(1, minChunk)));
        if (parts <= 1) { body(start, end); return; }
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
        {
            int s = start + (int)((long)n * p / parts);
            int e = start + (int)((long)n * (p + 1) / parts);
            if (e > s) body(s, e);
        });
    }
}
