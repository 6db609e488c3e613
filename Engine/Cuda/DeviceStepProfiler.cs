namespace Astmt.Engine.Cuda;

/// <summary>
/// Times whole steps of device work (an interval from before the step's first launch to after its last: CUDA events on a GPU, the
/// host clock on the emulator) and, when asked, every kernel launch inside them, summed per kernel over the steps timed since
/// <see cref="Reset"/>. Astmt.Bench's <c>train-step</c>/<c>forward</c> on a device use it; so do the tests, on the emulator.
/// </summary>
public sealed class DeviceStepProfiler : IDisposable
{
    private readonly GpuContext _context;
    private readonly IDeviceInterval _step;
    private readonly KernelTimer? _kernels;
    private double _totalStepMs;
    private int _steps;

    /// <summary>A profiler on <paramref name="context"/>; with <paramref name="perKernel"/> it attaches a <see cref="KernelTimer"/> to the
    /// context until disposed.</summary>
    public DeviceStepProfiler(GpuContext context, bool perKernel)
    {
        if (perKernel && context.KernelTimer != null)
            throw new InvalidOperationException($"DeviceStepProfiler: the {context.Name} context already has a kernel timer attached; dispose the other profiler first.");
        _context = context;
        _step = context.CreateInterval();
        if (perKernel) _context.KernelTimer = _kernels = new KernelTimer(context);
    }

    /// <summary>What the intervals measure with (for the report).</summary>
    public string Clock => _context.IntervalClock;

    /// <summary>True when every launch is timed too.</summary>
    public bool PerKernel => _kernels != null;

    /// <summary>Steps timed since <see cref="Reset"/>.</summary>
    public int Steps => _steps;

    /// <summary>Device milliseconds of all steps timed since <see cref="Reset"/>.</summary>
    public double TotalStepMs => _totalStepMs;

    /// <summary>Runs <paramref name="step"/> and returns its device time in milliseconds; waits until its work has finished.</summary>
    public double TimeStep(Action step)
    {
        _step.Start();
        step();
        _step.Stop();
        double ms = _step.ElapsedMs;
        _kernels?.Collect();
        _totalStepMs += ms;
        _steps++;
        return ms;
    }

    /// <summary>Forgets the steps and kernel times so far (call where the timed steps begin, after warm-up).</summary>
    public void Reset()
    {
        _kernels?.Reset();
        _totalStepMs = 0;
        _steps = 0;
    }

    /// <summary>Per-kernel totals over the steps since <see cref="Reset"/>, the most expensive first (empty without per-kernel timing).</summary>
    public IReadOnlyList<KernelTime> Kernels => _kernels?.Totals ?? [];

    /// <summary>Detaches the kernel timer and releases the intervals.</summary>
    public void Dispose()
    {
        if (_kernels != null && ReferenceEquals(_context.KernelTimer, _kernels)) _context.KernelTimer = null;
        _kernels?.Dispose();
        _step.Dispose();
    }
}
