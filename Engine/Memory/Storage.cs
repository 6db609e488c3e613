namespace Astmt.Engine.Memory;

/// <summary>
/// Reference-counted element storage shared by a tensor and its views. Host storage is a pooled pinned array; device storage is
/// an <see cref="IDeviceBuffer"/> owned by a device backend. The storage returns to its pool when the last view releases it.
/// </summary>
public sealed class Storage
{
    private int _refCount = 1;
    private readonly bool _persistent; // its array came from BufferPool.RentNew and goes back to the persistent buckets

    /// <summary>Host array (float[], double[] or long[]), or null for device storage.</summary>
    public Array? Host { get; private set; }

    /// <summary>Device buffer, or null for host storage.</summary>
    public IDeviceBuffer? DeviceBuffer { get; private set; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Where the elements live.</summary>
    public Device Device { get; }

    /// <summary>Number of elements.</summary>
    public int Length { get; }

    private Storage(DType dtype, Device device, int length, Array? host, IDeviceBuffer? buffer, bool persistent = false)
    {
        DType = dtype; Device = device; Length = length; Host = host; DeviceBuffer = buffer; _persistent = persistent;
    }

    /// <summary>Rents host storage of <paramref name="length"/> elements.</summary>
    public static Storage RentHost(DType dtype, int length, bool clear) => dtype switch
    {
        DType.Float32 => new Storage(dtype, Device.Cpu, length, BufferPool.Rent<float>(length, clear), null),
        DType.Float64 => new Storage(dtype, Device.Cpu, length, BufferPool.Rent<double>(length, clear), null),
        DType.Int64 => new Storage(dtype, Device.Cpu, length, BufferPool.Rent<long>(length, clear), null),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Host storage of <paramref name="length"/> elements in a newly created array (<see cref="BufferPool.RentNew{T}"/>),
    /// for state that lives across steps; it returns to the pool like any other when released.</summary>
    public static Storage RentHostNew(DType dtype, int length, bool clear) => dtype switch
    {
        DType.Float32 => new Storage(dtype, Device.Cpu, length, BufferPool.RentNew<float>(length, clear), null, persistent: true),
        DType.Float64 => new Storage(dtype, Device.Cpu, length, BufferPool.RentNew<double>(length, clear), null, persistent: true),
        DType.Int64 => new Storage(dtype, Device.Cpu, length, BufferPool.RentNew<long>(length, clear), null, persistent: true),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Wraps a device buffer that a backend allocated.</summary>
    public static Storage FromDevice(DType dtype, Device device, int length, IDeviceBuffer buffer) =>
        new(dtype, device, length, null, buffer);

    /// <summary>Adds a reference (a new view).</summary>
    public void AddRef() => Interlocked.Increment(ref _refCount);

    /// <summary>True while more than one tensor (a view) holds this storage: writing through one would change what another reads.</summary>
    internal bool IsShared => Volatile.Read(ref _refCount) > 1;

    /// <summary>True once every reference has been released.</summary>
    public bool IsReleased => Volatile.Read(ref _refCount) <= 0;

    /// <summary>Drops a reference; the last one returns the memory to its pool.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _refCount) != 0) return;
        switch (Host)
        {
            case float[] f: if (_persistent) BufferPool.ReturnPersistent(f); else BufferPool.Return(f); break;
            case double[] d: if (_persistent) BufferPool.ReturnPersistent(d); else BufferPool.Return(d); break;
            case long[] l: if (_persistent) BufferPool.ReturnPersistent(l); else BufferPool.Return(l); break;
        }
        Host = null;
        DeviceBuffer?.Dispose();
        DeviceBuffer = null;
    }
}

/// <summary>Device memory owned by a backend (CUDA or the emulator). Disposing returns it to the backend's caching allocator.</summary>
public interface IDeviceBuffer : IDisposable
{
    /// <summary>Size in bytes.</summary>
    long Bytes { get; }
}
