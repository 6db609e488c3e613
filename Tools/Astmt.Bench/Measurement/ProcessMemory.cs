namespace Astmt.Bench.Measurement;

/// <summary>Resident-set figures of this process from <c>/proc/self/status</c> (Linux).</summary>
internal static class ProcessMemory
{
    /// <summary>Peak resident set size in MiB since the process started (VmHWM); falls back to the current working set.</summary>
    public static double PeakRssMb()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
            foreach (var line in File.ReadLines(status))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length >= 2 && long.TryParse(parts[1], out long kb)) return kb / 1024.0;
                }
        return Environment.WorkingSet / (1024.0 * 1024.0);
    }
}
