using System.Globalization;

namespace Astmt.Engine.Cpu;

/// <summary>Per-core data cache sizes in bytes, read once from Linux sysfs (<c>/sys/devices/system/cpu/cpu0/cache</c>).
/// Falls back to common x86 sizes (32 KiB L1d, 512 KiB L2, 8 MiB L3) when sysfs is missing or unreadable.</summary>
internal static class CacheSizes
{
    /// <summary>L1 data cache of one core.</summary>
    public static readonly int L1 = Read(1, 32 << 10);

    /// <summary>L2 cache of one core.</summary>
    public static readonly int L2 = Read(2, 512 << 10);

    /// <summary>L3 cache (shared).</summary>
    public static readonly int L3 = Read(3, 8 << 20);

    private static int Read(int level, int fallback)
    {
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (!Directory.Exists(root)) return fallback;
            foreach (var dir in Directory.GetDirectories(root, "index*"))
            {
                string lv = File.ReadAllText(Path.Combine(dir, "level")).Trim();
                string type = File.ReadAllText(Path.Combine(dir, "type")).Trim();
                if (lv != level.ToString(CultureInfo.InvariantCulture) || type == "Instruction") continue;
                int bytes = ParseSize(File.ReadAllText(Path.Combine(dir, "size")).Trim());
                if (bytes > 0) return bytes;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return fallback;
    }

    /// <summary>Parses sysfs sizes such as "48K", "1024K" or "32M".</summary>
    internal static int ParseSize(string text)
    {
        if (text.Length == 0) return 0;
        long scale = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
        string digits = scale == 1 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) ? (int)Math.Min(int.MaxValue, v * scale) : 0;
    }
}
