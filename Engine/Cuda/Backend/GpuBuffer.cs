using Astmt.Engine.Memory;

namespace Astmt.Engine.Cuda.Backend;

/// <summary>A tensor's device memory: a block of the context's caching allocator, returned to it on dispose.</summary>
internal sealed class GpuBuffer(GpuContext context, ulong pointer, long rounded) : IDeviceBuffer
{
    private ulong _pointer = pointer;

    /// <summary>The context that owns the memory.</summary>
    public GpuContext Context { get; } = context;

    /// <summary>Device address of element 0 of the storage.</summary>
    public ulong Pointer => _pointer != 0 ? _pointer : throw new ObjectDisposedException(nameof(GpuBuffer));

    /// <inheritdoc />
    public long Bytes { get; } = rounded;

    /// <inheritdoc />
    public void Dispose()
    {
        var p = Interlocked.Exchange(ref _pointer, 0);
        if (p != 0) Context.Allocator.Free(p, Bytes);
    }
}
