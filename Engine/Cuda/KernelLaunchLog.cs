using System.Diagnostics;

namespace Astmt.Engine.Cuda;

/// <summary>Debug switch: with ASTMT_LOG_LAUNCHES=1 every launch is written to stderr with its grid, block and time.</summary>
internal static class KernelLaunchLog
{
    /// <summary>True when launches are logged (then the driver synchronizes after each so the time is the kernel's).</summary>
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("ASTMT_LOG_LAUNCHES") == "1";

    [ThreadStatic] private static long _start;

    public static void Before(KernelFunction f, Dim3 grid, Dim3 block, uint shared)
    {
        if (!Enabled) return;
        Console.Error.Write($"[launch] {f.Name} grid={grid} block={block} shared={shared}");
        _start = Stopwatch.GetTimestamp();
    }

    public static void After(KernelFunction f)
    {
        if (!Enabled) return;
        Console.Error.WriteLine($" {Stopwatch.GetElapsedTime(_start).TotalMilliseconds:F3} ms");
    }
}
