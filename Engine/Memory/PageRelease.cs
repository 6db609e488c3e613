using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Astmt.Engine.Memory;

/// <summary>
/// Gives the physical pages of an idle pinned array back to the operating system while the array itself stays allocated
/// (Linux <c>madvise(MADV_DONTNEED)</c>): the resident set shrinks at once, and the next write to a page maps a fresh zero
/// page. Only whole pages inside the element data are released, never the page holding the array header, so the runtime
/// still sees a valid object. Elsewhere (Windows, macOS) it is a no-op and the pool keeps its arrays resident.
/// </summary>
internal static partial class PageRelease
{
    private const int MadviseDontNeed = 4;
    private static bool _failed;

    /// <summary>Whether releasing pages is available here (Linux, and no <c>madvise</c> call has failed yet).</summary>
    public static bool Supported => OperatingSystem.IsLinux() && !Volatile.Read(ref _failed);

    /// <summary>Releases the whole pages of <paramref name="pinned"/>'s elements; their contents become zero. The array must be
    /// pinned (allocated on the pinned heap) and unused: any view of it would read zeros afterwards.</summary>
    /// <returns>Bytes released (0 when unsupported or the array spans no whole page).</returns>
    public static unsafe long Release(Array pinned)
    {
        if (!Supported) return 0;
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        nint page = Environment.SystemPageSize;
        nint lo = (start + page - 1) & ~(page - 1);
        nint hi = (start + (nint)Buffer.ByteLength(pinned)) & ~(page - 1);
        if (hi <= lo) return 0;
        if (Madvise(lo, (nuint)(hi - lo), MadviseDontNeed) != 0)
        {
            // Never fatal: the pool stays correct with resident arrays, it just holds more memory.
            Volatile.Write(ref _failed, true);
            return 0;
        }
        return hi - lo;
    }

    /// <summary>Asks for transparent huge pages over the whole 2 MiB blocks of <paramref name="pinned"/>'s elements, so that
    /// faulting them in (first use, and again after a release) costs one fault per 2 MiB instead of one per 4 KiB.</summary>
    public static unsafe void AdviseHugePages(Array pinned)
    {
        if (!Supported) return;
        const nint huge = 2 << 20;
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        nint lo = (start + huge - 1) & ~(huge - 1);
        nint hi = (start + (nint)Buffer.ByteLength(pinned)) & ~(huge - 1);
        if (hi > lo) Madvise(lo, (nuint)(hi - lo), MadviseHugePage); // advisory: a failure only means 4 KiB pages
    }

    private const int MadviseHugePage = 14;

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
