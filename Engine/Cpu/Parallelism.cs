using System.Runtime.ExceptionServices;

namespace Astmt.Engine.Cpu;

/// <summary>One piece of a parallel region: <see cref="Execute"/> is called once for every part in [0, parts).</summary>
public interface IParallelWork
{
    /// <summary>Runs part <paramref name="part"/> of <paramref name="parts"/>. Parts run concurrently on different threads.</summary>
    void Execute(int part, int parts);
}

/// <summary>The body of <see cref="Parallelism.For{TState}"/>: processes [<paramref name="start"/>, <paramref name="end"/>) reading
/// its inputs from <paramref name="state"/> (shared by the concurrent parts, so read-only).</summary>
public delegate void RangeBody<TState>(in TState state, int start, int end);

/// <summary>
/// How many threads CPU kernels use (<c>--threads</c>) and the persistent worker threads that run them. Work is split into
/// contiguous ranges, so results do not depend on scheduling; reductions that cross ranges combine partial results in a
/// fixed order. The calling thread starts on the first part at once and takes further parts as it finishes; workers are
/// started once, sleep between regions, and join a region when they wake, claiming the parts still unclaimed. A worker that
/// wakes after the caller has claimed every part has nothing to do and the caller does not wait for it: waking a sleeping
/// thread takes tens of microseconds, and a training step runs about two thousand regions, many of them shorter than that.
/// A region entered while another is running (a nested call from inside a body, or a second caller thread) runs inline on
/// its caller, which keeps it correct and deadlock-free.
/// </summary>
public static class Parallelism
{
    private static int _threads = Math.Max(1, Environment.ProcessorCount);
    private static readonly WorkerPool Pool = new();

    [ThreadStatic] private static RangeWork? _rangeWork;

    /// <summary>Counts of the regions run on the worker pool since the process started (for benchmarks and diagnostics).</summary>
    public static ParallelRegionCounts Counts => Pool.Counts;

    /// <summary>Number of threads a parallel region uses (at least 1), counting the caller. Defaults to the processor count.</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"Parallelism.Threads must be at least 1, got {value}.");
    }

    /// <summary>Runs <paramref name="body"/> over [<paramref name="start"/>, <paramref name="end"/>) split into at most
    /// <see cref="Threads"/> ranges of at least <paramref name="minChunk"/> items.</summary>
    public static void For(int start, int end, int minChunk, Action<int, int> body)
    {
        int n = end - start;
        if (n <= 0) return;
        int parts = Math.Min(_threads, Math.Max(1, n / Math.Max(1, minChunk)));
        if (parts <= 1 || !Pool.TryEnter())
        {
            body(start, end);
            return;
        }
        var work = _rangeWork ??= new RangeWork();
        work.Start = start;
        work.Count = n;
        work.Body = body;
        try { Pool.RunEntered(work, Chunks(n, parts), parts - 1); }
        finally { work.Body = null; }
    }

    /// <summary>
    /// As <see cref="For(int, int, int, Action{int, int})"/>, with the body's inputs passed as <paramref name="state"/> instead of
    /// captured: with a <c>static</c> lambda the call allocates nothing (a capturing lambda allocates a closure and a delegate
    /// per call, which in a training step adds up to hundreds of KB of garbage). Parts run concurrently and share the state, so
    /// the body must treat it as read-only.
    /// </summary>
    public static void For<TState>(int start, int end, int minChunk, in TState state, RangeBody<TState> body)
    {
        int n = end - start;
        if (n <= 0) return;
        int parts = Math.Min(_threads, Math.Max(1, n / Math.Max(1, minChunk)));
        if (parts <= 1 || !Pool.TryEnter())
        {
            body(in state, start, end);
            return;
        }
        var work = StateRangeWork<TState>.ForThisThread();
        work.Start = start;
        work.Count = n;
        work.State = state;
        work.Body = body;
        try { Pool.RunEntered(work, Chunks(n, parts), parts - 1); }
        finally
        {
            // Drop the references the state holds (arrays, tensors) so the cached work object keeps nothing alive.
            work.Body = null;
            work.State = default!;
        }
    }

    /// <summary>Runs <paramref name="work"/> as <paramref name="parts"/> parts (capped at <see cref="Threads"/>; the cap
    /// is what <see cref="IParallelWork.Execute"/> receives as its part count). Returns when every part has finished;
    /// the first exception a part throws is rethrown here.</summary>
    public static void Run(IParallelWork work, int parts)
    {
        parts = Math.Min(parts, _threads);
        if (parts <= 1 || !Pool.TryEnter())
        {
            // Inline: the same parts in order on this thread, so the arithmetic is the same as in the parallel case.
            parts = Math.Max(parts, 1);
            for (int p = 0; p < parts; p++) work.Execute(p, parts);
            return;
        }
        Pool.RunEntered(work, parts, parts - 1);
    }

    /// <summary>Ranges a <see cref="For{TState}"/> region is cut into for <paramref name="threads"/> threads: several per
    /// thread, so that when a worker wakes late the caller has already done more of the work instead of waiting for the
    /// worker's whole share. The ranges are contiguous and every element is processed by the same code whatever the cut.</summary>
    private static int Chunks(int n, int threads) => Math.Min(n, threads * ChunksPerThread);

    private const int ChunksPerThread = 4;

    /// <summary>Adapts a range body with state to <see cref="IParallelWork"/>; one cached instance per state type and calling thread
    /// (a region entered from inside a body runs inline, so the instance is never used by two regions at once).</summary>
    private sealed class StateRangeWork<TState> : IParallelWork
    {
        [ThreadStatic] private static StateRangeWork<TState>? _cached;

        public int Start, Count;
        public TState State = default!;
        public RangeBody<TState>? Body;

        public static StateRangeWork<TState> ForThisThread() => _cached ??= new StateRangeWork<TState>();

        public void Execute(int part, int parts)
        {
            int s = Start + (int)((long)Count * part / parts);
            int e = Start + (int)((long)Count * (part + 1) / parts);
            if (e > s) Body!(in State, s, e);
        }
    }

    /// <summary>Adapts a range body to <see cref="IParallelWork"/>; one cached instance per calling thread.</summary>
    private sealed class RangeWork : IParallelWork
    {
        public int Start, Count;
        public Action<int, int>? Body;

        public void Execute(int part, int parts)
        {
            int s = Start + (int)((long)Count * part / parts);
            int e = Start + (int)((long)Count * (part + 1) / parts);
            if (e > s) Body!(s, e);
        }
    }

    /// <summary>Background threads that each wait on their own semaphore and, once awake, claim parts of the open region.</summary>
    private sealed class WorkerPool
    {
        /// <summary>Bits of <see cref="_claim"/> that hold the next unclaimed part; the bits above hold the region number.</summary>
        private const int PartBits = 24;
        private const long PartMask = (1L << PartBits) - 1;

        private readonly object _gate = new();
        private readonly List<Worker> _workers = [];
        private readonly ManualResetEventSlim _allFinished = new(false, spinCount: 2000);
        private int _busy;
        // The open region's work and part count, written before the claim word that publishes them.
        private IParallelWork? _work;
        private int _parts;
        /// <summary>Region number and next unclaimed part in one word, claimed by compare-and-swap: a worker that read the
        /// work of one region cannot claim a part once the next region has opened, because the region number has changed.</summary>
        private long _claim;
        private int _finished;
        private ExceptionDispatchInfo? _error;
        private long _regions, _partsRun, _workerParts, _callerWaits;

        public ParallelRegionCounts Counts => new(Volatile.Read(ref _regions), Volatile.Read(ref _partsRun), Interlocked.Read(ref _workerParts), Volatile.Read(ref _callerWaits));

        /// <summary>Claims the pool for one region; false when a region is already running (then the caller runs inline).</summary>
        public bool TryEnter() => Interlocked.CompareExchange(ref _busy, 1, 0) == 0;

        /// <summary>Runs a region of <paramref name="parts"/> parts on a pool claimed by <see cref="TryEnter"/>, waking
        /// <paramref name="helpers"/> workers, and releases the pool.</summary>
        public void RunEntered(IParallelWork work, int parts, int helpers)
        {
            try
            {
                if (parts > PartMask) throw new ArgumentOutOfRangeException(nameof(parts), $"Parallelism: at most {PartMask} parts per region, got {parts}.");
                EnsureWorkers(helpers);
                long region = (Volatile.Read(ref _claim) >> PartBits) + 1;
                // Close the previous region's claim word first (new region number, no part left): otherwise a worker that
                // read the old word (every part claimed) and then this region's larger _parts could still claim "part
                // P_old" with a compare-and-swap that succeeds before the word below is published, and run it uncounted.
                Interlocked.Exchange(ref _claim, (region << PartBits) | PartMask);
                _work = work;
                _parts = parts;
                _error = null;
                _finished = 0;
                _allFinished.Reset();
                Volatile.Write(ref _claim, (region << PartBits) | 1); // part 0 is the caller's
                for (int i = 0; i < helpers; i++) _workers[i].Start.Release();
                int part = 0;
                do ExecutePart(work, part, parts);
                while ((part = TryClaim(region, parts)) >= 0);
                // Every part is claimed; wait only for parts a worker took and is still running.
                _regions++;
                _partsRun += parts;
                if (Volatile.Read(ref _finished) < parts)
                {
                    _callerWaits++;
                    // The count decides, not the event alone: the last part of the previous region increments _finished
                    // before it sets the event, so its caller can return in between and that late Set lands in this
                    // region, after the Reset above. Waking on it must not end the wait while parts still run (their
                    // caller would then clear the shared work state under them).
                    do
                    {
                        _allFinished.Wait();
                        _allFinished.Reset();
                    }
                    while (Volatile.Read(ref _finished) < parts);
                }
                _work = null;
                _error?.Throw();
            }
            finally { Volatile.Write(ref _busy, 0); }
        }

        /// <summary>Claims the next part of region <paramref name="region"/>, or returns -1 when none is left.</summary>
        private int TryClaim(long region, int parts)
        {
            while (true)
            {
                long claim = Volatile.Read(ref _claim);
                int next = (int)(claim & PartMask);
                if (claim >> PartBits != region || next >= parts) return -1;
                if (Interlocked.CompareExchange(ref _claim, claim + 1, claim) == claim) return next;
            }
        }

        private void ExecutePart(IParallelWork work, int part, int parts)
        {
            try { work.Execute(part, parts); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null); }
            if (Interlocked.Increment(ref _finished) == parts) _allFinished.Set();
        }

        private void EnsureWorkers(int count)
        {
            lock (_gate)
            {
                while (_workers.Count < count)
                {
                    var worker = new Worker(this, _workers.Count + 1);
                    _workers.Add(worker);
                    worker.Thread.Start();
                }
            }
        }

        private void WorkerLoop(Worker self)
        {
            while (true)
            {
                self.Start.Wait();
                while (true)
                {
                    // The work and part count are read after the claim word and used only if the claim then succeeds,
                    // which proves they belong to the region the claim word named.
                    long claim = Volatile.Read(ref _claim);
                    var work = _work;
                    int parts = _parts;
                    int next = (int)(claim & PartMask);
                    if (work is null || next >= parts) break;
                    if (Interlocked.CompareExchange(ref _claim, claim + 1, claim) != claim) continue;
                    ExecutePart(work, next, parts);
                    Interlocked.Increment(ref _workerParts);
                }
            }
        }

        private sealed class Worker
        {
            public readonly SemaphoreSlim Start = new(0);
            public readonly Thread Thread;

            public Worker(WorkerPool pool, int index)
            {
                Thread = new Thread(() => pool.WorkerLoop(this)) { IsBackground = true, Name = $"Astmt worker {index}" };
            }
        }
    }
}

/// <summary>Counts of parallel regions run on the worker pool (regions that ran inline on their caller are not counted).</summary>
/// <param name="Regions">Regions run.</param>
/// <param name="Parts">Parts of those regions.</param>
/// <param name="WorkerParts">Parts a worker thread ran (the caller ran the rest).</param>
/// <param name="CallerWaits">Regions whose caller, having claimed every part it could, waited for a worker to finish one.</param>
public readonly record struct ParallelRegionCounts(long Regions, long Parts, long WorkerParts, long CallerWaits)
{
    /// <summary>The counts accumulated since <paramref name="earlier"/>.</summary>
    public ParallelRegionCounts Since(ParallelRegionCounts earlier) =>
        new(Regions - earlier.Regions, Parts - earlier.Parts, WorkerParts - earlier.WorkerParts, CallerWaits - earlier.CallerWaits);
}
