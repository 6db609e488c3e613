using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Astmt.Bench.Measurement;

/// <summary>What a timed run is measured with.</summary>
internal enum ClockKind
{
    /// <summary>Elapsed wall time (the default; what a user waits for).</summary>
    Wall,

    /// <summary>CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID). Only meaningful when all work runs on the
    /// calling thread (<c>--threads 1</c>); it excludes the time other processes hold the core, so single-thread
    /// comparisons stay fair on a shared, oversubscribed machine.</summary>
    ThreadCpu,
}

/// <summary>Millisecond readings of the clocks in <see cref="ClockKind"/>.</summary>
internal static partial class Clocks
{
    private const int ClockThreadCpuTimeId = 3;

    public static double NowMs(ClockKind kind)
    {
        if (kind == ClockKind.Wall) return Stopwatch.GetTimestamp() * 1000.0 / Stopwatch.Frequency;
        if (clock_gettime(ClockThreadCpuTimeId, out var t) != 0)
            throw new InvalidOperationException("--clock thread-cpu: clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed; this clock needs Linux.");
        return t.Seconds * 1e3 + t.Nanoseconds / 1e6;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int clock_gettime(int clockId, out Timespec time);
}
