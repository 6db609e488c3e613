using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Astmt.Engine.Cuda;

/// <summary>Where a family's PTX came from.</summary>
public enum PtxOrigin
{
    /// <summary>Precompiled by nvcc at build time and embedded in the Engine assembly (kernels.cu.props).</summary>
    Embedded,

    /// <summary>Compiled by NVRTC at run time (through the on-disk <see cref="PtxCache"/>).</summary>
    Nvrtc,
}

/// <summary>The PTX chosen for one family on one device, with the architecture it targets and why it was chosen.</summary>
public sealed record PtxChoice(string Ptx, string Architecture, PtxOrigin Origin, string Reason);

/// <summary>
/// Chooses a family's PTX for a device: the precompiled PTX embedded by the nvcc step of kernels.cu.props
/// (<c>Kernels/ptx/&lt;family&gt;.compute_XY.ptx</c>) for the highest embedded architecture not above the device's compute
/// capability, but only if its sidecar <c>.sha256</c> lists exactly the SHA-256 of the family's source and every header as
/// embedded now; otherwise NVRTC. cuModuleLoadData JIT-compiles the PTX for the device either way.
/// </summary>
/// <param name="resourceNames">Names of the embedded resources (the Engine assembly's manifest resources).</param>
/// <param name="readResource">Bytes of a resource by name, or null when it does not exist.</param>
/// <param name="compileWithNvrtc">NVRTC fallback: (family, architecture such as compute_86) → PTX.</param>
public sealed partial class PtxProvider(IReadOnlyCollection<string> resourceNames, Func<string, byte[]?> readResource,
    Func<string, string, string> compileWithNvrtc)
{
    private const string SourcePrefix = "Kernels/";
    private const string PtxPrefix = "Kernels/ptx/";
    private const int HighestNvrtcArchitecture = 90;

    private static readonly Lazy<PtxProvider> DefaultProvider = new(() =>
    {
        var asm = typeof(PtxProvider).Assembly;
        return new PtxProvider(asm.GetManifestResourceNames(), name =>
        {
            using var stream = asm.GetManifestResourceStream(name);
            if (stream is null) return null;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }, (family, arch) => PtxCache.Default.GetOrCompile(family, arch));
    });

    [GeneratedRegex(@"^Kernels/ptx/(\w+)\.compute_(\d+)\.ptx$")]
    private static partial Regex EmbeddedPtxName();

    /// <summary>The provider over the Engine assembly's resources, falling back to NVRTC through <see cref="PtxCache.Default"/>.</summary>
    public static PtxProvider Default => DefaultProvider.Value;

    /// <summary>Architectures (as major·10 + minor) with embedded PTX for <paramref name="family"/>, ascending.</summary>
    public IReadOnlyList<int> EmbeddedArchitectures(string family) =>
        resourceNames.Select(n => EmbeddedPtxName().Match(n)).Where(m => m.Success && m.Groups[1].Value == family)
            .Select(m => int.Parse(m.Groups[2].Value)).Order().ToList();

    /// <summary>The PTX of <paramref name="family"/> for a device of compute capability <paramref name="computeCapability"/>
    /// (major·10 + minor): embedded when an architecture ≤ the device's is embedded and built from the current sources,
    /// else compiled by NVRTC for compute_min(capability, 90).</summary>
    public PtxChoice Get(string family, int computeCapability)
    {
        if (computeCapability <= 0)
            throw new ArgumentOutOfRangeException(nameof(computeCapability), $"PtxProvider.Get({family}): compute capability must be major·10 + minor (e.g. 80), got {computeCapability}.");
        string reason;
        var usable = EmbeddedArchitectures(family).Where(a => a <= computeCapability).ToList();
        if (usable.Count == 0)
        {
            reason = $"no embedded PTX for {family} at or below compute_{computeCapability}";
        }
        else
        {
            int arch = usable[^1];
            string name = $"{PtxPrefix}{family}.compute_{arch}.ptx";
            string? mismatch = StaleBecause(family, readResource(name + ".sha256"));
            if (mismatch is null)
            {
                byte[] ptx = readResource(name) ?? throw new InvalidOperationException($"Embedded resource '{name}' is listed but cannot be read.");
                return new PtxChoice(Encoding.UTF8.GetString(ptx).TrimEnd('\0'), $"compute_{arch}", PtxOrigin.Embedded,
                    $"embedded {name}, built from the current sources");
            }
            reason = $"embedded {name} is stale: {mismatch}";
        }
        string nvrtcArch = $"compute_{Math.Min(computeCapability, HighestNvrtcArchitecture)}";
        return new PtxChoice(compileWithNvrtc(family, nvrtcArch), nvrtcArch, PtxOrigin.Nvrtc, reason);
    }

    /// <summary>Null when <paramref name="sidecar"/> (lines "HEX-SHA256 file") lists exactly the family's source and the
    /// embedded headers with their current hashes; otherwise what differs.</summary>
    private string? StaleBecause(string family, byte[]? sidecar)
    {
        if (sidecar is null) return "its .sha256 sidecar is missing";
        var recorded = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Encoding.UTF8.GetString(sidecar).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int space = line.IndexOf(' ');
            if (space <= 0) return $"malformed sidecar line '{line}' (expected 'SHA256 file')";
            recorded[line[(space + 1)..].Trim()] = line[..space];
        }
        var current = CurrentHashes(family);
        foreach (var (file, hash) in current)
        {
            if (!recorded.TryGetValue(file, out var was)) return $"{file} is not in the sidecar";
            if (!string.Equals(was, hash, StringComparison.OrdinalIgnoreCase)) return $"{file} changed since the PTX was built";
        }
        foreach (var file in recorded.Keys)
            if (!current.ContainsKey(file)) return $"{file} was an input but is no longer embedded";
        return null;
    }

    private Dictionary<string, string> CurrentHashes(string family)
    {
        var files = resourceNames.Where(n => n.StartsWith(SourcePrefix, StringComparison.Ordinal) && !n.StartsWith(PtxPrefix, StringComparison.Ordinal)
                && n.EndsWith(".cuh", StringComparison.Ordinal))
            .Append($"{SourcePrefix}{family}.cu");
        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in files)
        {
            byte[] bytes = readResource(name) ?? throw new ArgumentException($"PtxProvider: no embedded source '{name}' for family '{family}'.");
            hashes[name[SourcePrefix.Length..]] = Convert.ToHexString(SHA256.HashData(bytes));
        }
        return hashes;
    }
}
