namespace Astmt.Engine.Cuda;

/// <summary>One kernel's share of the launches a <see cref="KernelTimer"/> saw.</summary>
/// <param name="Name">The kernel's source name.</param>
/// <param name="Launches">How many times it was launched.</param>
/// <param name="TotalMs">The sum of its launches' intervals.</param>
public readonly record struct KernelTime(string Name, long Launches, double TotalMs)
{
    /// <summary>Mean microseconds per launch.</summary>
    public double MeanUs => Launches == 0 ? 0 : TotalMs * 1000 / Launches;
}

/// <summary>
/// Times every kernel launch of a context while it is attached (<see cref="GpuContext.KernelTimer"/>): an interval (CUDA events, or
/// the host clock on the emulator) around each launch, summed per kernel name. On a GPU the events are read in <see cref="Collect"/>,
/// so launches stay asynchronous in between; call it after each timed step. Events around every launch cost a little device time
/// themselves: a step timed with a kernel timer attached is slightly slower than one without.
/// </summary>
public sealed class KernelTimer : IDisposable
{
    private readonly GpuContext _context;
    private readonly object _gate = new();
    private readonly Stack<IDeviceInterval> _free = new();
    private readonly List<(string Name, IDeviceInterval Interval)> _recorded = new();
    private readonly Dictionary<string, (long Launches, double TotalMs)> _totals = new();

    /// <summary>A timer for <paramref name="context"/>'s launches (attach it with <see cref="GpuContext.KernelTimer"/>).</summary>
    public KernelTimer(GpuContext context) => _context = context;

    /// <summary>Called by the launcher just before it launches <paramref name="name"/>: marks the start.</summary>
    internal IDeviceInterval Begin(string name)
    {
        IDeviceInterval interval;
        lock (_gate) interval = _free.Count > 0 ? _free.Pop() : _context.CreateInterval();
        interval.Start();
        return interval;
    }

    /// <summary>Called by the launcher right after the launch: marks the end; the time is read in <see cref="Collect"/>.</summary>
    internal void End(string name, IDeviceInterval interval)
    {
        interval.Stop();
        lock (_gate) _recorded.Add((name, interval));
    }

    /// <summary>Waits for the launches recorded so far and adds their times to the totals.</summary>
    public void Collect()
    {
        lock (_gate)
        {
            foreach (var (name, interval) in _recorded)
            {
                var (launches, total) = _totals.GetValueOrDefault(name);
                _totals[name] = (launches + 1, total + interval.ElapsedMs);
                _free.Push(interval);
            }
            _recorded.Clear();
        }
    }

    /// <summary>The collected totals, the most expensive kernel first.</summary>
    public IReadOnlyList<KernelTime> Totals
    {
        get
        {
            lock (_gate)
                return _totals.Select(kv => new KernelTime(kv.Key, kv.Value.Launches, kv.Value.TotalMs))
                    .OrderByDescending(k => k.TotalMs).ThenBy(k => k.Name, StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>Forgets the totals and any launch not yet collected (call where the timed steps begin).</summary>
    public void Reset()
    {
        Collect();
        lock (_gate) _totals.Clear();
    }

    /// <summary>Destroys the intervals (detach the timer from its context first).</summary>
    public void Dispose()
    {
        Collect();
        lock (_gate)
        {
            while (_free.Count > 0) _free.Pop().Dispose();
        }
    }
}
