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
/// contiguous ranges, one per thread, so results do not depend on scheduling; reductions that cross ranges combine partial
/// results in a fixed order. The calling thread runs part 0 itself; workers are started once and sleep between regions,
/// so a parallel region costs two wake-ups rather than a Task per call. A region entered while another is running (a nested
/// call from inside a body, or a second caller thread) runs inline on its caller, which keeps it correct and deadlock-free.
/// </summary>
public static class Parallelism
{
    private static int _threads = Math.Max(1, Environment.ProcessorCount);
    private static readonly WorkerPool Pool = new();

    [ThreadStatic] private static RangeWork? _rangeWork;

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
        try { Pool.RunEntered(work, parts); }
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
        try { Pool.RunEntered(work, parts); }
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
        Pool.RunEntered(work, parts);
    }

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

    /// <summary>Background threads that each wait on their own semaphore for a part of the current region.</summary>
    private sealed class WorkerPool
    {
        private readonly object _gate = new();
        private readonly List<Worker> _workers = [];
        private readonly ManualResetEventSlim _done = new(false, spinCount: 2000);
        private int _busy;
        private IParallelWork? _work;
        private int _parts;
        private int _pending;
        private ExceptionDispatchInfo? _error;

        /// <summary>Claims the pool for one region; false when a region is already running (then the caller runs inline).</summary>
        public bool TryEnter() => Interlocked.CompareExchange(ref _busy, 1, 0) == 0;

        /// <summary>Runs a region on a pool claimed by <see cref="TryEnter"/> and releases it.</summary>
        public void RunEntered(IParallelWork work, int parts)
        {
            try
            {
                EnsureWorkers(parts - 1);
                _work = work;
                _parts = parts;
                _error = null;
                _done.Reset();
                Volatile.Write(ref _pending, parts - 1);
                for (int i = 0; i < parts - 1; i++) _workers[i].Start.Release();
                try { work.Execute(0, parts); }
                catch (Exception e) { Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null); }
                _done.Wait();
                _work = null;
                _error?.Throw();
            }
            finally { Volatile.Write(ref _busy, 0); }
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
                try { _work!.Execute(self.Part, _parts); }
                catch (Exception e) { Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null); }
                if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
            }
        }

        private sealed class Worker
        {
            public readonly SemaphoreSlim Start = new(0);
            public readonly int Part;
            public readonly Thread Thread;

            public Worker(WorkerPool pool, int part)
            {
                Part = part;
                Thread = new Thread(() => pool.WorkerLoop(this)) { IsBackground = true, Name = $"Astmt worker {part}" };
            }
        }
    }
}
