using System.Globalization;
using Astmt.Engine.Memory;

namespace Astmt.Bench.Measurement;

/// <summary>
/// Opt-in (<c>ASTMT_MEMTRACE=1</c>) split of the peak resident set: a background thread samples the RSS every few
/// milliseconds and, at the highest sample, records what the host buffer pool had created and rented and what the managed
/// heap held, so the rest (runtime, JIT, native, GEMM scratch outside the pool) is RSS minus those.
/// </summary>
internal sealed class MemoryTrace : IDisposable
{
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _peakRss, _poolCreatedAtPeak, _poolRentedAtPeak, _poolResidentAtPeak, _managedAtPeak;

    /// <summary>Whether <c>ASTMT_MEMTRACE=1</c> asks for the trace.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("ASTMT_MEMTRACE") == "1";

    /// <summary>Starts sampling.</summary>
    public MemoryTrace()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "memtrace" };
        _thread.Start();
    }

    private void Loop()
    {
        while (!_stop)
        {
            long rss = CurrentRssBytes();
            if (rss > _peakRss)
            {
                _peakRss = rss;
                _poolCreatedAtPeak = BufferPool.CreatedBytes;
                _poolRentedAtPeak = BufferPool.RentedBytes;
                _poolResidentAtPeak = BufferPool.ResidentBytes;
                _managedAtPeak = GC.GetTotalMemory(false);
            }
            Thread.Sleep(5);
        }
    }

    /// <summary>Resident bytes now, from <c>/proc/self/statm</c>.</summary>
    private static long CurrentRssBytes()
    {
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }

    /// <summary>The split at the sampled RSS peak, one line.</summary>
    public string Format()
    {
        const double mb = 1048576.0;
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        return string.Create(CultureInfo.InvariantCulture,
            $"memtrace at sampled RSS peak {_peakRss / mb:F0} MB: pool created {_poolCreatedAtPeak / mb:F0} MB, resident {_poolResidentAtPeak / mb:F0} MB " +
            $"(rented {_poolRentedAtPeak / mb:F0} MB), managed heap incl. pool {_managedAtPeak / mb:F0} MB (non-pool {(_managedAtPeak - _poolCreatedAtPeak) / mb:F0} MB), " +
            $"RSS minus managed minus pool pages released {(_peakRss - _managedAtPeak + (_poolCreatedAtPeak - _poolResidentAtPeak)) / mb:F0} MB; GC committed at last GC {info.TotalCommittedBytes / mb:F0} MB, " +
            $"collections {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
    }

    /// <summary>Stops sampling.</summary>
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
