namespace Astmt.Engine.Cuda;

/// <summary>
/// Device memory cache bucketed by rounded size: a freed block goes to its bucket and the next request of that size takes it
/// back, so a training step in steady state calls neither cuMemAlloc nor cuMemFree. Sizes round up to 512 bytes (small) or
/// 64 KiB (large) so that shapes that differ slightly share buckets.
/// </summary>
public sealed class CachingDeviceAllocator(GpuContext context)
{
    private readonly object _gate = new();
    private readonly Dictionary<long, Stack<ulong>> _free = new();
    private long _rawAllocations, _rawFrees, _cachedBytes, _liveBytes, _allocatedSinceCollect;

    /// <summary>
    /// Once this many bytes were allocated from the device since the last collection, a request the cache cannot serve first runs
    /// a GC and waits for finalizers, so that blocks held only by unreachable tensors (no-grad outputs, dropped losses) come back.
    /// Device memory puts no pressure on the managed heap, so without this a loop could fill the GPU before any GC ran.
    /// </summary>
    public long CollectThresholdBytes { get; set; } = 256L << 20;

    /// <summary>Number of device allocations made so far (flat in steady state).</summary>
    public long RawAllocations => Interlocked.Read(ref _rawAllocations);

    /// <summary>Number of device frees made so far (only <see cref="Trim"/> frees).</summary>
    public long RawFrees => Interlocked.Read(ref _rawFrees);

    /// <summary>Bytes held in the cache.</summary>
    public long CachedBytes => Interlocked.Read(ref _cachedBytes);

    /// <summary>Bytes handed out and not yet returned.</summary>
    public long LiveBytes => Interlocked.Read(ref _liveBytes);

    /// <summary>The size class of a request.</summary>
    public static long RoundUp(long bytes) => bytes <= 1 << 20 ? Math.Max(512, (bytes + 511) & ~511L) : (bytes + 65535) & ~65535L;

    /// <summary>Returns a block of at least <paramref name="bytes"/> bytes; <paramref name="rounded"/> is its real size.</summary>
    public ulong Allocate(long bytes, out long rounded)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), $"CachingDeviceAllocator.Allocate: negative size {bytes}.");
        rounded = RoundUp(bytes);
        lock (_gate)
        {
            if (_free.TryGetValue(rounded, out var stack) && stack.Count > 0)
            {
                _cachedBytes -= rounded;
                _liveBytes += rounded;
                return stack.Pop();
            }
        }
        if (Interlocked.Read(ref _allocatedSinceCollect) > CollectThresholdBytes)
        {
            Interlocked.Exchange(ref _allocatedSinceCollect, 0);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            lock (_gate)
            {
                if (_free.TryGetValue(rounded, out var stack) && stack.Count > 0)
                {
                    _cachedBytes -= rounded;
                    _liveBytes += rounded;
                    return stack.Pop();
                }
            }
        }
        ulong p = context.RawAllocate(rounded);
        Interlocked.Add(ref _allocatedSinceCollect, rounded);
        Interlocked.Increment(ref _rawAllocations);
        Interlocked.Add(ref _liveBytes, rounded);
        return p;
    }

    /// <summary>Returns a block obtained from <see cref="Allocate"/> with its rounded size.</summary>
    public void Free(ulong pointer, long rounded)
    {
        lock (_gate)
        {
            if (!_free.TryGetValue(rounded, out var stack)) _free[rounded] = stack = new Stack<ulong>();
            stack.Push(pointer);
            _cachedBytes += rounded;
            _liveBytes -= rounded;
        }
    }

    /// <summary>Frees every cached (not live) block back to the device.</summary>
    public void Trim()
    {
        lock (_gate)
        {
            foreach (var stack in _free.Values)
                while (stack.Count > 0)
                {
                    context.RawFree(stack.Pop());
                    _rawFrees++;
                }
            _free.Clear();
            _cachedBytes = 0;
        }
    }
}
