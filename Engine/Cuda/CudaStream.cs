using Astmt.Engine.Cuda.Native;

namespace Astmt.Engine.Cuda;

/// <summary>A CUDA stream (driver only).</summary>
public sealed class CudaStream : IDisposable
{
    private IntPtr _stream;

    /// <summary>Creates a stream on the current context.</summary>
    public CudaStream(CudaContext context)
    {
        context.MakeCurrent();
        CudaContext.Check(CudaDriverNative.cuStreamCreate(out _stream, 0), "cuStreamCreate", "flags=0");
    }

    /// <summary>The CUstream handle.</summary>
    public IntPtr Handle => _stream;

    /// <summary>Waits for the stream's work.</summary>
    public void Synchronize() => CudaContext.Check(CudaDriverNative.cuStreamSynchronize(_stream), "cuStreamSynchronize", $"0x{_stream:x}");

    /// <summary>Destroys the stream.</summary>
    public void Dispose()
    {
        var s = Interlocked.Exchange(ref _stream, IntPtr.Zero);
        if (s != IntPtr.Zero) CudaContext.Check(CudaDriverNative.cuStreamDestroy(s), "cuStreamDestroy", $"0x{s:x}");
    }
}

/// <summary>A CUDA event for timing kernels (driver only).</summary>
public sealed class CudaEvent : IDisposable
{
    private IntPtr _event;

    /// <summary>Creates an event on the current context.</summary>
    public CudaEvent(CudaContext context)
    {
        context.MakeCurrent();
        CudaContext.Check(CudaDriverNative.cuEventCreate(out _event, 0), "cuEventCreate", "flags=0");
    }

    /// <summary>Records the event on <paramref name="stream"/> (null: the default stream).</summary>
    public void Record(CudaStream? stream = null) =>
        CudaContext.Check(CudaDriverNative.cuEventRecord(_event, stream?.Handle ?? IntPtr.Zero), "cuEventRecord", $"0x{_event:x}");

    /// <summary>Waits until the event has completed.</summary>
    public void Synchronize() => CudaContext.Check(CudaDriverNative.cuEventSynchronize(_event), "cuEventSynchronize", $"0x{_event:x}");

    /// <summary>Milliseconds between <paramref name="start"/> and this event (both recorded and completed).</summary>
    public float ElapsedSince(CudaEvent start)
    {
        CudaContext.Check(CudaDriverNative.cuEventElapsedTime(out float ms, start._event, _event), "cuEventElapsedTime",
            $"start=0x{start._event:x}, end=0x{_event:x}");
        return ms;
    }

    /// <summary>Destroys the event.</summary>
    public void Dispose()
    {
        var e = Interlocked.Exchange(ref _event, IntPtr.Zero);
        if (e != IntPtr.Zero) CudaContext.Check(CudaDriverNative.cuEventDestroy(e), "cuEventDestroy", $"0x{e:x}");
    }
}
