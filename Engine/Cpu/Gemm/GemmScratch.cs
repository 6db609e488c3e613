namespace Astmt.Engine.Cpu;

/// <summary>
/// Per-thread packing buffers: pinned, 64-byte aligned, grown on demand and then kept, so a GEMM call allocates nothing
/// once each thread has seen its largest problem. Worker threads are persistent (<see cref="Parallelism"/>), so each
/// keeps its own buffers warm in its own core's caches.
/// </summary>
internal static unsafe class GemmScratch
{
    [ThreadStatic] private static float[]? _a;
    [ThreadStatic] private static float[]? _b;
    [ThreadStatic] private static float[]? _tile;
    [ThreadStatic] private static float[]? _shared;
    [ThreadStatic] private static float[]? _gather;

    /// <summary>Aligned buffer for the packed A block, at least <paramref name="floats"/> long.</summary>
    public static float* A(int floats) => Get(ref _a, floats);

    /// <summary>Aligned buffer for the packed B panel, at least <paramref name="floats"/> long.</summary>
    public static float* B(int floats) => Get(ref _b, floats);

    /// <summary>Aligned buffer for a B packed once and read by every thread of the call, at least <paramref name="floats"/>
    /// long; owned by the calling thread, which blocks until the call's parallel regions finish.</summary>
    public static float* Shared(int floats) => Get(ref _shared, floats);

    /// <summary>Aligned buffer for rows gathered before an in-register transpose (implicit im2col packing), at least
    /// <paramref name="floats"/> long.</summary>
    public static float* Gather(int floats) => Get(ref _gather, floats);

    /// <summary>Aligned buffer for one edge tile of C, at least <paramref name="floats"/> long.</summary>
    public static float* Tile(int floats) => Get(ref _tile, floats);

    private static float* Get(ref float[]? buffer, int floats) => Aligned(ref buffer, floats);

    /// <summary>The 64-byte aligned start of <paramref name="buffer"/>, first replaced by a larger pinned array when it holds
    /// fewer than <paramref name="floats"/> floats past that alignment. For other per-thread scratch of the same kind.</summary>
    public static float* Aligned(ref float[]? buffer, int floats)
    {
        const int alignFloats = 16;
        if (buffer is null || buffer.Length < floats + alignFloats)
            buffer = GC.AllocateUninitializedArray<float>(Math.Max(floats, 1024) + alignFloats, pinned: true);
        // Pinned arrays never move, so the address stays valid for the thread's lifetime of the buffer.
        fixed (float* p = buffer)
            return (float*)(((nint)p + 63) & ~(nint)63);
    }
}
