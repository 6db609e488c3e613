namespace Astmt.Engine.Memory;

/// <summary>
/// A pool of host arrays bucketed by exact length. A training step allocates the same sizes every step, so exact buckets reach a
/// steady state in which no array is created and the GC sees no large-object churn.
/// </summary>
/// <remarks>
/// <para>Exact buckets cost memory: an idle array of one length cannot serve a request for another, so the pool ends up
/// holding more than the step ever has live at once (at 288×384, MTAN created 8.7 GB of arrays for an 8.0 GB live peak; best-fit
/// reuse of a slightly larger array did not help, because the lengths that sit idle at the peak are not near the ones asked
/// for). So the pool bounds what it keeps <em>resident</em> instead: whenever rented plus resident idle bytes would pass the
/// high-water mark of rented bytes plus <see cref="ResidentSlackBytes"/>, the pages of the least recently returned idle arrays
/// go back to the operating system (<see cref="PageRelease"/>); the array stays in its bucket and its next user faults in fresh
/// zero pages. The resident set thus follows the live peak, as a malloc-based framework's does, while array identity (and so
/// the flat <see cref="ArraysCreated"/>) is unchanged.</para>
/// <para>Thread-safe: buffers may come back from a finalizer or a loader thread.</para>
/// </remarks>
public static class BufferPool
{
    /// <summary>Arrays smaller than this always stay resident: their pages are few and a release would cost more than it saves.</summary>
    private const long MinReleaseBytes = 1L << 20;

    /// <summary>Arrays from this size on ask for transparent huge pages (see <see cref="UseHugePages"/>).</summary>
    private const long HugePageMinBytes = 4L << 20;

    private static readonly object Gate = new();
    private static readonly Dictionary<(Type, int), Stack<Array>> Free = new();
    // Idle arrays that held persistent state (RentNew) and came back: only RentNew takes them, so state that is dropped and
    // recreated every step (a gradient set to none and made again by the next backward) reuses its own arrays instead of creating
    // new ones, and still never takes a temporary the next step needs.
    private static readonly Dictionary<(Type, int), Stack<Array>> FreePersistent = new();
    // Idle arrays of at least MinReleaseBytes whose pages are resident, least recently returned first. Each array keeps its
    // node for life (weakly: an array lost by its renter can still be collected), so returning and renting allocate nothing
    // once the pool is warm.
    private static readonly LinkedList<Array> ResidentIdle = new();
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Array, LinkedListNode<Array>> IdleNodes = new();
    private static long _pooledBytes;
    private static long _residentPooledBytes;
    private static long _rentedBytes;
    private static long _createdBytes;
    private static long _createdSinceCollect;
    private static long _arraysCreated;
    private static long _peakRentedBytes;
    private static long _highWaterRentedBytes;
    private static long _releasedBytes;

    /// <summary>Bytes currently handed out to live storages.</summary>
    public static long RentedBytes => Interlocked.Read(ref _rentedBytes);

    /// <summary>The most bytes rented at once since the process started or <see cref="ResetPeak"/>: the live set a step needs.
    /// <see cref="CreatedBytes"/> minus this is what exact-length bucketing costs on top of it.</summary>
    public static long PeakRentedBytes => Interlocked.Read(ref _peakRentedBytes);

    /// <summary>Restarts <see cref="PeakRentedBytes"/> from the bytes rented now.</summary>
    public static void ResetPeak() => Interlocked.Exchange(ref _peakRentedBytes, RentedBytes);

    /// <summary>Bytes held in the pool, ready for reuse (resident or with their pages released).</summary>
    public static long PooledBytes => Interlocked.Read(ref _pooledBytes);

    /// <summary>Bytes of the pool's arrays whose pages are resident: rented ones plus idle ones not yet released. This, not
    /// <see cref="CreatedBytes"/>, is the pool's share of the process's resident set.</summary>
    public static long ResidentBytes
    {
        get { lock (Gate) return Interlocked.Read(ref _rentedBytes) + _residentPooledBytes; }
    }

    /// <summary>Total bytes of idle arrays whose pages were given back to the operating system since the process started
    /// (each release counts once; a released array that is rented again faults its pages back in).</summary>
    public static long ReleasedBytes => Interlocked.Read(ref _releasedBytes);

    /// <summary>
    /// How far above the high-water mark of <see cref="RentedBytes"/> the pool's resident bytes may go before idle arrays give
    /// their pages back (256 MiB by default). Larger keeps more idle arrays warm (fewer page faults when they are rented
    /// again); 0 keeps the pool's resident set at the live peak; <see cref="long.MaxValue"/> never releases. Only Linux
    /// releases pages; elsewhere the pool keeps every array resident. The environment variable
    /// <c>ASTMT_POOL_RESIDENT_SLACK_MB</c> sets the initial value (<c>-1</c>: never release), for A/B runs of tools.
    /// </summary>
    public static long ResidentSlackBytes { get; set; } = InitialResidentSlack();

    private static long InitialResidentSlack()
    {
        string? text = Environment.GetEnvironmentVariable("ASTMT_POOL_RESIDENT_SLACK_MB");
        if (string.IsNullOrEmpty(text)) return 256L << 20;
        if (!long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long mb) || mb < -1)
            throw new InvalidOperationException($"ASTMT_POOL_RESIDENT_SLACK_MB='{text}': expected a whole number of MiB (0 or more), or -1 to never release pages.");
        return mb < 0 ? long.MaxValue : mb << 20;
    }

    /// <summary>Bytes of all arrays the pool ever created (rented plus pooled, minus trimmed).</summary>
    public static long CreatedBytes => Interlocked.Read(ref _createdBytes);

    /// <summary>How many arrays the pool has created since the process started; flat in a steady-state loop.</summary>
    public static long ArraysCreated => Interlocked.Read(ref _arraysCreated);

    /// <summary>
    /// Whether new arrays of 4 MiB or more ask the OS for transparent huge pages over their whole 2 MiB blocks (Linux with THP in
    /// <c>madvise</c> or <c>always</c> mode; elsewhere ignored). On by default: an idle array whose pages were released faults
    /// them back in once per 2 MiB instead of once per 4 KiB, which is what keeps releasing pages from costing step time
    /// (MTAN at 96×128, one thread: +4–6% CPU per step with 4 KiB pages, within noise with huge pages).
    /// </summary>
    public static bool UseHugePages { get; set; } = true;

    /// <summary>
    /// Once this many bytes were created since the last collection, a rent that would create more first runs a GC so that
    /// storages held only by unreachable tensors come back. The step arena makes this rare; it is the safety net for tensors
    /// created outside a graph.
    /// </summary>
    public static long CollectThresholdBytes { get; set; } = 512L << 20;

    /// <summary>Misses of arrays smaller than this never induce the <see cref="CollectThresholdBytes"/> collection (the size at
    /// which the runtime puts arrays on the large-object heap, outside the gen0 budget that triggers ordinary collections).</summary>
    public const long InducedCollectMinBytes = 85_000;

    /// <summary>
    /// Bytes of host tensors that neither a step arena nor an inference scope owns (no-grad ops outside a module forward,
    /// factory tensors) after which the next such tensor first runs a GC. Those tensors have no owner that frees them at a known
    /// point: they return through the finalizer, so without this a no-grad loop written outside any module would hold every
    /// intermediate until the GC happened to run. Inside a module forward the inference scope frees them; this is the safety net.
    /// </summary>
    public static long UnownedCollectThresholdBytes { get; set; } = 256L << 20;

    private static long _unownedSinceCollect;

    /// <summary>Called before a host tensor that no step arena or inference scope owns rents <paramref name="bytes"/>: collects when the
    /// unowned bytes since the last collection pass <see cref="UnownedCollectThresholdBytes"/>.</summary>
    internal static void BeforeUnownedRent(long bytes)
    {
        if (Interlocked.Add(ref _unownedSinceCollect, bytes) <= UnownedCollectThresholdBytes) return;
        Interlocked.Exchange(ref _unownedSinceCollect, 0);
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>Called when a host tensor counted by <see cref="BeforeUnownedRent"/> is disposed: its bytes came back without
    /// a collection, so a loop that disposes what it creates never reaches the threshold.</summary>
    internal static void AfterUnownedDispose(long bytes)
    {
        if (Interlocked.Add(ref _unownedSinceCollect, -bytes) < 0) Interlocked.Exchange(ref _unownedSinceCollect, 0); // counted before the last collection
    }

    /// <summary>Rents an array of exactly <paramref name="length"/> elements; its contents are undefined unless <paramref name="clear"/>.</summary>
    public static T[] Rent<T>(int length, bool clear) where T : unmanaged
    {
        if (length == 0) return [];
        long bytes = (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        T[]? array = TryTake<T>(Free, length, bytes);
        // A small miss (typically a caller-owned scalar such as the loss a Backward handed over, waiting for its finalizer) does
        // not justify a full blocking collection: creating it costs less, and the ordinary collections reclaim such tensors.
        if (array == null && bytes >= InducedCollectMinBytes && Interlocked.Read(ref _createdSinceCollect) > CollectThresholdBytes)
        {
            Interlocked.Exchange(ref _createdSinceCollect, 0);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            array = TryTake<T>(Free, length, bytes);
        }
        if (array == null) return Create<T>(length, bytes, clear);
        if (clear) Array.Clear(array);
        return array;
    }

    /// <summary>
    /// Creates a new array of <paramref name="length"/> elements, counted as rented, without taking a pooled one. For state that
    /// lives across steps and is created during the first one (a leaf's gradient, optimizer moments): taking a pooled array would
    /// leave the next step short of the temporary it returned, so the pool would only reach its steady state a step later.
    /// Takes an idle array that earlier persistent state gave back through <see cref="ReturnPersistent{T}"/> when there is one.
    /// </summary>
    public static T[] RentNew<T>(int length, bool clear) where T : unmanaged
    {
        if (length == 0) return [];
        long bytes = (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        T[]? array = TryTake<T>(FreePersistent, length, bytes);
        if (array == null) return Create<T>(length, bytes, clear);
        if (clear) Array.Clear(array);
        return array;
    }

    private static T[] Create<T>(int length, long bytes, bool clear) where T : unmanaged
    {
        // Released pages first, so the new array's pages are not resident on top of the idle ones it displaces.
        if (bytes >= MinReleaseBytes) lock (Gate) ReleaseIdlePages(bytes);
        var array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        if (bytes >= HugePageMinBytes && UseHugePages) PageRelease.AdviseHugePages(array);
        Interlocked.Add(ref _createdBytes, bytes);
        Interlocked.Add(ref _createdSinceCollect, bytes);
        Interlocked.Increment(ref _arraysCreated);
        if (clear) Array.Clear(array);
        AddRented(bytes);
        return array;
    }

    private static T[]? TryTake<T>(Dictionary<(Type, int), Stack<Array>> free, int length, long bytes) where T : unmanaged
    {
        lock (Gate)
        {
            if (free.TryGetValue((typeof(T), length), out var stack) && stack.Count > 0)
            {
                var a = (T[])stack.Pop();
                _pooledBytes -= bytes;
                if (bytes < MinReleaseBytes) _residentPooledBytes -= bytes;
                else
                {
                    var node = IdleNodes.GetValue(a, static x => new LinkedListNode<Array>(x));
                    if (node.List != null)
                    {
                        ResidentIdle.Remove(node);
                        _residentPooledBytes -= bytes;
                    }
                    else ReleaseIdlePages(bytes); // its pages were released: the caller's writes fault them back in
                }
                AddRented(bytes);
                return a;
            }
        }
        return null;
    }

    /// <summary>Called under <see cref="Gate"/> before <paramref name="incoming"/> bytes become resident that were not: releases
    /// the pages of the least recently returned idle arrays until rented plus resident idle bytes, with the incoming ones, fit
    /// <paramref name="limit"/> (by default the high-water mark of rented bytes plus <see cref="ResidentSlackBytes"/>).</summary>
    private static void ReleaseIdlePages(long incoming, long? limit = null)
    {
        if (ResidentIdle.First == null || !PageRelease.Supported) return;
        long rented = Interlocked.Read(ref _rentedBytes);
        long highWater = Math.Max(Interlocked.Read(ref _highWaterRentedBytes), rented + incoming);
        long slack = ResidentSlackBytes;
        long max = limit ?? (slack >= long.MaxValue - highWater ? long.MaxValue : highWater + slack);
        while (rented + incoming + _residentPooledBytes > max && ResidentIdle.First is { } oldest)
        {
            ResidentIdle.RemoveFirst();
            long bytes = Buffer.ByteLength(oldest.Value);
            _residentPooledBytes -= bytes;
            // Under the lock: once the node is off the resident list, a concurrent rent of this array would treat its pages as
            // released, so they must be released before anyone can take it.
            Interlocked.Add(ref _releasedBytes, PageRelease.Release(oldest.Value));
        }
    }

    private static void AddRented(long bytes)
    {
        long now = Interlocked.Add(ref _rentedBytes, bytes);
        RaiseTo(ref _peakRentedBytes, now);
        RaiseTo(ref _highWaterRentedBytes, now);
    }

    private static void RaiseTo(ref long mark, long value)
    {
        long seen;
        while (value > (seen = Interlocked.Read(ref mark)) && Interlocked.CompareExchange(ref mark, value, seen) != seen) { }
    }

    /// <summary>Returns an array obtained from <see cref="Rent{T}"/>.</summary>
    public static void Return<T>(T[] array) where T : unmanaged => Return(Free, array);

    /// <summary>Returns an array obtained from <see cref="RentNew{T}"/>; only a later <see cref="RentNew{T}"/> takes it again.</summary>
    public static void ReturnPersistent<T>(T[] array) where T : unmanaged => Return(FreePersistent, array);

    private static void Return<T>(Dictionary<(Type, int), Stack<Array>> free, T[] array) where T : unmanaged
    {
        if (array.Length == 0) return;
        long bytes = (long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        lock (Gate)
        {
            var key = (typeof(T), array.Length);
            if (!free.TryGetValue(key, out var stack)) free[key] = stack = new Stack<Array>();
            stack.Push(array);
            _pooledBytes += bytes;
            _residentPooledBytes += bytes;
            if (bytes >= MinReleaseBytes)
            {
                var node = IdleNodes.GetValue(array, static x => new LinkedListNode<Array>(x));
                ResidentIdle.AddLast(node);
            }
        }
        Interlocked.Add(ref _rentedBytes, -bytes);
    }

    /// <summary>Gives the pages of every idle array of at least 1 MiB back to the operating system now (Linux; elsewhere a
    /// no-op). Unlike <see cref="Trim"/> the arrays stay pooled, so a loop that resumes creates none: the next rents fault fresh
    /// pages in. For a long pause (evaluation, checkpointing) in which the training step's peak should not stay resident.</summary>
    public static void ReleaseIdle()
    {
        lock (Gate) ReleaseIdlePages(0, limit: 0);
    }

    /// <summary>Restarts the rented high-water mark that the resident budget follows from the bytes rented now (tests).</summary>
    internal static void ResetHighWaterMark() => Interlocked.Exchange(ref _highWaterRentedBytes, RentedBytes);

    /// <summary>Drops every pooled (not rented) array so the GC can reclaim it.</summary>
    public static void Trim()
    {
        lock (Gate)
        {
            Interlocked.Add(ref _createdBytes, -_pooledBytes);
            _pooledBytes = 0;
            _residentPooledBytes = 0;
            Free.Clear();
            FreePersistent.Clear();
            ResidentIdle.Clear();
            IdleNodes.Clear();
        }
    }
}
