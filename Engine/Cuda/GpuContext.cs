using Astmt.Engine.Memory;

namespace Astmt.Engine.Cuda;

/// <summary>
/// A device for our kernels: raw memory, copies and a <see cref="IKernelLauncher"/>. <see cref="CudaContext"/> drives a real GPU;
/// <see cref="EmulatorContext"/> runs the same kernels on the CPU. Allocations go through the caching <see cref="Allocator"/>.
/// </summary>
public abstract unsafe class GpuContext : IDisposable
{
    /// <summary>Creates the context's caching allocator.</summary>
    protected GpuContext() => Allocator = new CachingDeviceAllocator(this);

    /// <summary>The device kind tensors on this context report.</summary>
    public abstract DeviceKind Kind { get; }

    /// <summary>A human-readable name (device name or "emulator").</summary>
    public abstract string Name { get; }

    /// <summary>The caching allocator every device buffer of this context comes from.</summary>
    public CachingDeviceAllocator Allocator { get; }

    /// <summary>The launcher of this context.</summary>
    public abstract IKernelLauncher Launcher { get; }

    /// <summary>Most blocks a grid-stride launch uses: the loop covers the rest. Many on a GPU, few on the emulator.</summary>
    public abstract int MaxGridStrideBlocks { get; }

    /// <summary>A new interval for timing work on this context (<see cref="IntervalClock"/> says what it measures with).</summary>
    public abstract IDeviceInterval CreateInterval();

    /// <summary>What <see cref="CreateInterval"/>'s intervals measure with, for reports.</summary>
    public abstract string IntervalClock { get; }

    /// <summary>When set, the launcher times every kernel launch with it (<c>Astmt.Bench --kernels</c>); null (the default) costs
    /// one field read per launch.</summary>
    public KernelTimer? KernelTimer { get; set; }

    /// <summary>Allocates device memory directly (the allocator calls this on a cache miss).</summary>
    protected internal abstract ulong RawAllocate(long bytes);

    /// <summary>Frees device memory directly (the allocator calls this when trimming).</summary>
    protected internal abstract void RawFree(ulong pointer);

    /// <summary>Copies host memory to the device.</summary>
    public abstract void CopyHostToDevice(ulong destination, void* source, long bytes);

    /// <summary>Copies device memory to the host (synchronizes).</summary>
    public abstract void CopyDeviceToHost(void* destination, ulong source, long bytes);

    /// <summary>Copies between device buffers.</summary>
    public abstract void CopyDeviceToDevice(ulong destination, ulong source, long bytes);

    /// <summary>Sets <paramref name="count"/> 32-bit words to <paramref name="value"/>.</summary>
    public abstract void Memset32(ulong destination, uint value, long count);

    /// <summary>Waits for all queued work.</summary>
    public abstract void Synchronize();

    /// <summary>Releases the cached memory and the context.</summary>
    public virtual void Dispose()
    {
        Allocator.Trim();
        GC.SuppressFinalize(this);
    }
}
