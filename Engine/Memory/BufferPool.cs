namespace Astmt.Engine.Memory;

/// <summary>
/// A pool of host arrays bucketed by exact length. A training step allocates the same sizes every step, so exact buckets reach a
/// steady state in which no array is created and the GC sees no large-object churn.
/// </summary>
/// <remarks>Thread-safe: buffers may come back from a finalizer or a loader thread.</remarks>
public static class BufferPool
{
    private static readonly object Gate = new();
    private static readonly Dictionary<(Type, int), Stack<Array>> Free = new();
    private static long _pooledBytes;
    private static long _rentedBytes;
    private static long _createdBytes;
    private static long _createdSinceCollect;
    private static long _arraysCreated;
    private static long _peakRentedBytes;

    /// <summary>Bytes currently handed out to live storages.</summary>
    public static long RentedBytes => Interlocked.Read(ref _rentedBytes);

    /// <summary>The most bytes rented at once since the process started or <see cref="ResetPeak"/>: the live set a step needs.
    /// <see cref="CreatedBytes"/> minus this is what exact-length bucketing costs on top of it.</summary>
    public static long PeakRentedBytes => Interlocked.Read(ref _peakRentedBytes);

    /// <summary>Restarts <see cref="PeakRentedBytes"/> from the bytes rented now.</summary>
    public static void ResetPeak() => Interlocked.Exchange(ref _peakRentedBytes, RentedBytes);

    /// <summary>Bytes held in the pool, ready for reuse.</summary>
    public static long PooledBytes => Interlocked.Read(ref _pooledBytes);

    /// <summary>Bytes of all arrays the pool ever created (rented plus pooled, minus trimmed).</summary>
    public static long CreatedBytes => Interlocked.Read(ref _createdBytes);

    /// <summary>How many arrays the pool has created since the process started; flat in a steady-state loop.</summary>
    public static long ArraysCreated => Interlocked.Read(ref _arraysCreated);

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
        T[]? array = TryTake<T>(length, bytes);
        // A small miss (typically a caller-owned scalar such as the loss a Backward handed over, waiting for its finalizer) does
        // not justify a full blocking collection: creating it costs less, and the ordinary collections reclaim such tensors.
        if (array == null && bytes >= InducedCollectMinBytes && Interlocked.Read(ref _createdSinceCollect) > CollectThresholdBytes)
        {
            Interlocked.Exchange(ref _createdSinceCollect, 0);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            array = TryTake<T>(length, bytes);
        }
        if (array == null) return Create<T>(length, bytes, clear);
        if (clear) Array.Clear(array);
        return array;
    }

    /// <summary>
    /// Creates a new array of <paramref name="length"/> elements, counted as rented, without taking a pooled one. For state that
    /// lives across steps and is created during the first one (a leaf's gradient, optimizer moments): taking a pooled array would
    /// leave the next step short of the temporary it returned, so the pool would only reach its steady state a step later.
    /// </summary>
    public static T[] RentNew<T>(int length, bool clear) where T : unmanaged
    {
        if (length == 0) return [];
        return Create<T>(length, (long)length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), clear);
    }

    private static T[] Create<T>(int length, long bytes, bool clear) where T : unmanaged
    {
        var array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        Interlocked.Add(ref _createdBytes, bytes);
        Interlocked.Add(ref _createdSinceCollect, bytes);
        Interlocked.Increment(ref _arraysCreated);
        if (clear) Array.Clear(array);
        AddRented(bytes);
        return array;
    }

    private static T[]? TryTake<T>(int length, long bytes) where T : unmanaged
    {
        lock (Gate)
        {
            if (Free.TryGetValue((typeof(T), length), out var stack) && stack.Count > 0)
            {
                var a = (T[])stack.Pop();
                _pooledBytes -= bytes;
                AddRented(bytes);
                return a;
            }
        }
        return null;
    }

    private static void AddRented(long bytes)
    {
        long now = Interlocked.Add(ref _rentedBytes, bytes);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peakRentedBytes)) && Interlocked.CompareExchange(ref _peakRentedBytes, now, peak) != peak) { }
    }

    /// <summary>Returns an array obtained from <see cref="Rent{T}"/>.</summary>
    public static void Return<T>(T[] array) where T : unmanaged
    {
        if (array.Length == 0) return;
        long bytes = (long)array.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        lock (Gate)
        {
            var key = (typeof(T), array.Length);
            if (!Free.TryGetValue(key, out var stack)) Free[key] = stack = new Stack<Array>();
            stack.Push(array);
            _pooledBytes += bytes;
        }
        Interlocked.Add(ref _rentedBytes, -bytes);
    }

    /// <summary>Drops every pooled (not rented) array so the GC can reclaim it.</summary>
    public static void Trim()
    {
        lock (Gate)
        {
            Interlocked.Add(ref _createdBytes, -_pooledBytes);
            _pooledBytes = 0;
            Free.Clear();
        }
    }
}
