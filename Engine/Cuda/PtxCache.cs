using System.Security.Cryptography;
using System.Text;

namespace Astmt.Engine.Cuda;

/// <summary>
/// On-disk cache of NVRTC output, keyed by a SHA-256 of the family's source, the headers and the NVRTC version, plus the target
/// architecture: a kernel is compiled once per machine and source revision. The directory is ASTMT_PTX_CACHE, else
/// $XDG_CACHE_HOME/astmt/ptx, else ~/.cache/astmt/ptx.
/// </summary>
public sealed class PtxCache(string directory)
{
    /// <summary>The cache in the default directory.</summary>
    public static PtxCache Default { get; } = new(DefaultDirectory());

    /// <summary>Where the PTX files live.</summary>
    public string Directory { get; } = directory;

    /// <summary>Compilations done by this cache instance (misses).</summary>
    public int Compilations { get; private set; }

    /// <summary>The PTX of <paramref name="family"/> for <paramref name="architecture"/>, compiled on a miss.</summary>
    public string GetOrCompile(string family, string architecture)
    {
        string source = KernelSources.Source(family);
        var headers = KernelSources.Headers;
        string path = Path.Combine(Directory, $"{family}-{Key(source, headers)}-{architecture}.ptx");
        if (File.Exists(path)) return File.ReadAllText(path);
        var result = NvrtcCompiler.Compile(source, family + ".cu", architecture, headers);
        Compilations++;
        System.IO.Directory.CreateDirectory(Directory);
        string temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllText(temp, result.Ptx);
        File.Move(temp, path, overwrite: true);
        return result.Ptx;
    }

    /// <summary>The content key of a source and its headers (hex SHA-256, 16 characters).</summary>
    public static string Key(string source, IReadOnlyDictionary<string, string> headers)
    {
        var text = new StringBuilder(source);
        foreach (var kv in headers.OrderBy(kv => kv.Key, StringComparer.Ordinal)) text.Append('\0').Append(kv.Key).Append('\0').Append(kv.Value);
        var (major, minor) = NvrtcCompiler.Version;
        text.Append($"\0nvrtc {major}.{minor}");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16].ToLowerInvariant();
    }

    private static string DefaultDirectory()
    {
        var explicitDir = Environment.GetEnvironmentVariable("ASTMT_PTX_CACHE");
        if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "astmt", "ptx");
    }
}
