namespace Astmt.Engine.Cuda;

/// <summary>A typed device buffer of <see cref="Size"/> elements (ManagedCuda's CudaDeviceVariable). Disposing returns it to the cache.</summary>
public sealed unsafe class CudaDeviceVariable<T> : IDisposable where T : unmanaged
{
    private readonly GpuContext _context;
    private readonly long _rounded;
    private ulong _pointer;

    /// <summary>Allocates <paramref name="size"/> elements (contents undefined).</summary>
    public CudaDeviceVariable(GpuContext context, long size)
    {
        if (size < 0) throw new ArgumentOutOfRangeException(nameof(size), $"CudaDeviceVariable<{typeof(T).Name}>: negative size {size}.");
        _context = context;
        Size = size;
        _pointer = context.Allocator.Allocate(SizeInBytes, out _rounded);
    }

    /// <summary>Allocates and uploads <paramref name="host"/>.</summary>
    public CudaDeviceVariable(GpuContext context, ReadOnlySpan<T> host) : this(context, host.Length) => CopyToDevice(host);

    /// <summary>Number of elements.</summary>
    public long Size { get; }

    /// <summary>Size in bytes.</summary>
    public long SizeInBytes => Size * sizeof(T);

    /// <summary>The device address.</summary>
    public ulong DevicePointer => _pointer != 0 || Size == 0 ? _pointer : throw new ObjectDisposedException($"CudaDeviceVariable<{typeof(T).Name}>[{Size}]");

    /// <summary>Uploads <paramref name="host"/> (exactly <see cref="Size"/> elements).</summary>
    public void CopyToDevice(ReadOnlySpan<T> host)
    {
        if (host.Length != Size) throw new ArgumentException($"CopyToDevice: {host.Length} elements for a buffer of {Size}.");
        fixed (T* p = host) _context.CopyHostToDevice(DevicePointer, p, SizeInBytes);
    }

    /// <summary>Downloads into <paramref name="host"/> (exactly <see cref="Size"/> elements).</summary>
    public void CopyToHost(Span<T> host)
    {
        if (host.Length != Size) throw new ArgumentException($"CopyToHost: {host.Length} elements for a buffer of {Size}.");
        fixed (T* p = host) _context.CopyDeviceToHost(p, DevicePointer, SizeInBytes);
    }

    /// <summary>Downloads to a new array.</summary>
    public T[] ToArray()
    {
        var a = new T[Size];
        CopyToHost(a);
        return a;
    }

    /// <summary>Sets every byte to zero.</summary>
    public void Clear()
    {
        if (SizeInBytes % 4 != 0) throw new InvalidOperationException($"Clear needs a multiple of 4 bytes; buffer has {SizeInBytes}.");
        _context.Memset32(DevicePointer, 0, SizeInBytes / 4);
    }

    /// <summary>Returns the memory to the context's cache.</summary>
    public void Dispose()
    {
        var p = Interlocked.Exchange(ref _pointer, 0);
        if (p != 0) _context.Allocator.Free(p, _rounded);
    }
}
