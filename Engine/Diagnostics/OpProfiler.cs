using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Astmt.Engine.Diagnostics;

/// <summary>
/// Opt-in per-op time accumulation for finding where a training step spends its time (<c>ASTMT_PROFILE=1</c>, or
/// <see cref="Enabled"/>). Forward: the wall time between consecutive recorded ops on the recording thread is charged to the op
/// recorded at its end, so it includes the op's compute and the module glue before it (ops run without a graph are charged to the
/// next recorded op). Backward: each node's backward function is timed and charged to "backward:" + its op name; gradient
/// accumulation between nodes is not counted. Managed bytes the recording thread allocated are charged the same way
/// (<see cref="GC.GetAllocatedBytesForCurrentThread"/> deltas; worker threads' allocations are not included), so the table also
/// says which ops create garbage. Off, the cost is one static bool test per recorded op and per backward node.
/// </summary>
public static class OpProfiler
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, Entry> Entries = new(StringComparer.Ordinal);
    [ThreadStatic] private static long _lastMark;
    [ThreadStatic] private static long _lastBytes;
    [ThreadStatic] private static long _backwardStartBytes;
    [ThreadStatic] private static int _backwardDepth;

    /// <summary>Whether ops are being timed. Starts as <c>ASTMT_PROFILE=1</c> in the environment.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("ASTMT_PROFILE") == "1";

    /// <summary>Starts the forward clock of this thread now (call right before a forward pass so that the first op is not charged
    /// for whatever ran before it).</summary>
    public static void Mark()
    {
        _lastMark = Stopwatch.GetTimestamp();
        _lastBytes = GC.GetAllocatedBytesForCurrentThread();
    }

    /// <summary>Clears the accumulated times.</summary>
    public static void Reset()
    {
        lock (Gate) Entries.Clear();
    }

    /// <summary>Charges the time since the last mark to the forward of <paramref name="opName"/> (called when an op is recorded).</summary>
    internal static void OnRecord(string opName)
    {
        long now = Stopwatch.GetTimestamp();
        long bytes = GC.GetAllocatedBytesForCurrentThread();
        if (_backwardDepth == 0 && _lastMark != 0) Add(opName, now - _lastMark, bytes - _lastBytes);
        _lastMark = now;
        _lastBytes = bytes;
    }

    /// <summary>Starts timing one node's backward; pass the result to <see cref="EndBackward"/>.</summary>
    internal static long BeginBackward()
    {
        if (_backwardDepth++ == 0) _backwardStartBytes = GC.GetAllocatedBytesForCurrentThread();
        return Stopwatch.GetTimestamp();
    }

    /// <summary>Charges the time since <paramref name="start"/> to "backward:" + <paramref name="opName"/>.</summary>
    internal static void EndBackward(string opName, long start)
    {
        long now = Stopwatch.GetTimestamp();
        long bytes = GC.GetAllocatedBytesForCurrentThread();
        _backwardDepth--;
        if (_backwardDepth == 0) Add("backward:" + opName, now - start, bytes - _backwardStartBytes);
        _lastMark = now;
        _lastBytes = bytes;
    }

    /// <summary>Charges <paramref name="ticks"/> of <see cref="Stopwatch"/> time to <paramref name="name"/> (callers outside the
    /// engine use it for phases such as the optimizer step).</summary>
    public static void Add(string name, long ticks) => Add(name, ticks, 0);

    /// <summary>Charges <paramref name="ticks"/> of <see cref="Stopwatch"/> time and <paramref name="bytes"/> of managed allocation to
    /// <paramref name="name"/>.</summary>
    public static void Add(string name, long ticks, long bytes)
    {
        lock (Gate)
        {
            if (!Entries.TryGetValue(name, out var e)) Entries[name] = e = new Entry();
            e.Ticks += ticks;
            e.Bytes += bytes;
            e.Calls++;
        }
    }

    /// <summary>The accumulated entries, largest time first: name, milliseconds, calls, managed bytes allocated.</summary>
    public static IReadOnlyList<(string Name, double Ms, long Calls, long Bytes)> Snapshot()
    {
        lock (Gate)
        {
            var list = new List<(string, double, long, long)>(Entries.Count);
            foreach (var (name, e) in Entries) list.Add((name, e.Ticks * 1000.0 / Stopwatch.Frequency, e.Calls, e.Bytes));
            list.Sort((a, b) => b.Item2.CompareTo(a.Item2));
            return list;
        }
    }

    /// <summary>A table of the <paramref name="top"/> largest entries, each divided by <paramref name="steps"/>, with its share of the total.</summary>
    public static string Format(int steps, int top = 30)
    {
        var entries = Snapshot();
        double total = 0;
        long totalBytes = 0;
        // Whole-phase entries ("phase: ...") overlap the per-op ones, so they are listed but not part of the total.
        foreach (var e in entries)
            if (!e.Name.StartsWith("phase:", StringComparison.Ordinal)) { total += e.Ms; totalBytes += e.Bytes; }
        var sb = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        sb.AppendLine(string.Create(ci, $"op profile (ASTMT_PROFILE=1), per step over {steps} step(s), {total / Math.Max(steps, 1):F1} ms and " +
                                        $"{totalBytes / 1024.0 / Math.Max(steps, 1):F0} KB of managed allocation (recording thread) accounted:"));
        sb.AppendLine("  op                                        ms/step   share   calls/step   KB/step");
        for (int i = 0; i < Math.Min(top, entries.Count); i++)
        {
            var (name, ms, calls, bytes) = entries[i];
            sb.AppendLine(string.Create(ci, $"  {name,-40} {ms / steps,9:F1}  {100 * ms / total,5:F1}%  {(double)calls / steps,10:F0}  {bytes / 1024.0 / steps,8:F1}"));
        }
        // The largest allocators, which the time ranking above may not show.
        var byBytes = new List<(string Name, double Ms, long Calls, long Bytes)>(entries);
        byBytes.Sort((a, b) => b.Bytes.CompareTo(a.Bytes));
        sb.AppendLine("  largest managed allocators              KB/step   calls/step   B/call");
        for (int i = 0; i < Math.Min(top, byBytes.Count); i++)
        {
            var (name, _, calls, bytes) = byBytes[i];
            if (bytes <= 0) break;
            sb.AppendLine(string.Create(ci, $"  {name,-40} {bytes / 1024.0 / steps,8:F1}  {(double)calls / steps,10:F0}  {bytes / (double)Math.Max(calls, 1),7:F0}"));
        }
        return sb.ToString();
    }

    private sealed class Entry
    {
        public long Ticks;
        public long Calls;
        public long Bytes;
    }
}
