using System.Diagnostics;

namespace Astmt.Engine.Cuda;

/// <summary>
/// A start and an end mark around device work and the milliseconds between them. On a GPU the marks are CUDA events recorded on
/// the stream, so the interval is the device's own time for the work queued between them; on the emulator, whose launches finish
/// before they return, it is the host clock. Reusable: Start again after reading <see cref="ElapsedMs"/>.
/// </summary>
public interface IDeviceInterval : IDisposable
{
    /// <summary>Marks the start (queued after the work launched so far).</summary>
    void Start();

    /// <summary>Marks the end (queued after the work launched since <see cref="Start"/>).</summary>
    void Stop();

    /// <summary>Milliseconds from start to end; waits until the end mark has been reached.</summary>
    double ElapsedMs { get; }
}

/// <summary>An interval on the host clock, for devices whose launches are synchronous (the emulator).</summary>
public sealed class HostInterval : IDeviceInterval
{
    private long _start, _stop;

    /// <inheritdoc />
    public void Start() => _start = Stopwatch.GetTimestamp();

    /// <inheritdoc />
    public void Stop() => _stop = Stopwatch.GetTimestamp();

    /// <inheritdoc />
    public double ElapsedMs => Stopwatch.GetElapsedTime(_start, _stop).TotalMilliseconds;

    /// <inheritdoc />
    public void Dispose() { }
}

/// <summary>An interval between two CUDA events recorded on the default stream (what every launch of <see cref="CudaContext"/> uses).</summary>
public sealed class CudaEventInterval : IDeviceInterval
{
    private readonly CudaEvent _start, _stop;

    /// <summary>Creates the interval's two events on <paramref name="context"/>.</summary>
    public CudaEventInterval(CudaContext context)
    {
        _start = new CudaEvent(context);
        _stop = new CudaEvent(context);
    }

    /// <inheritdoc />
    public void Start() => _start.Record();

    /// <inheritdoc />
    public void Stop() => _stop.Record();

    /// <inheritdoc />
    public double ElapsedMs
    {
        get
        {
            _stop.Synchronize();
            return _stop.ElapsedSince(_start);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _start.Dispose();
        _stop.Dispose();
    }
}
