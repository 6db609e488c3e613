namespace Astmt.Train.Experiments.Mtan;

/// <summary>
/// Reads and augments the next training batch in the background while the current step computes. A batch is a pure function
/// of its sample indices and augmentation seeds, so the prefetched one is used only when the step asks for exactly the
/// indices and seeds it was built for; any other request (a resume, a changed order) is built in place. The losses are
/// therefore bit-identical with and without prefetching, and exact resume does not depend on it.
/// </summary>
internal sealed class MtanTrainPrefetch(MtanDataSource data) : IDisposable
{
    private Task<MtanBatch>? _pending;
    private int[] _indices = [];
    private ulong[]? _seeds;

    /// <summary>Batches the step took from the background (for tests and the step profile).</summary>
    public long Hits { get; private set; }

    /// <summary>The batch of <paramref name="indices"/> and <paramref name="seeds"/>: the prefetched one when it matches
    /// (waiting for it if it is still loading), otherwise built now.</summary>
    public MtanBatch Take(int[] indices, ulong[]? seeds)
    {
        var pending = _pending;
        _pending = null;
        if (pending != null)
        {
            if (indices.AsSpan().SequenceEqual(_indices) && SameSeeds(seeds, _seeds))
            {
                Hits++;
                // GetResult rethrows a loading error as itself (a malformed file reads the same as without prefetching).
                return pending.GetAwaiter().GetResult();
            }
            Discard(pending);
        }
        return data.TrainBatch(indices, seeds);
    }

    /// <summary>Starts loading the batch of <paramref name="indices"/> and <paramref name="seeds"/> in the background.</summary>
    public void Start(int[] indices, ulong[]? seeds)
    {
        if (_pending != null) Discard(_pending);
        _indices = indices;
        _seeds = seeds;
        _pending = Task.Run(() => data.TrainBatch(indices, seeds));
    }

    /// <summary>Waits for a pending load and releases its tensors.</summary>
    public void Dispose()
    {
        if (_pending != null) Discard(_pending);
        _pending = null;
    }

    private static bool SameSeeds(ulong[]? a, ulong[]? b) => a == null ? b == null : b != null && a.AsSpan().SequenceEqual(b);

    private static void Discard(Task<MtanBatch> pending)
    {
        try { pending.GetAwaiter().GetResult().Dispose(); }
        catch (Exception) { /* A load that was never going to be used may fail; the batch that is used reports its own error. */ }
    }
}
