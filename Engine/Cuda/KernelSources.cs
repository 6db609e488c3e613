using System.Reflection;
using System.Text.RegularExpressions;

namespace Astmt.Engine.Cuda;

/// <summary>
/// The CUDA C sources embedded in the Engine assembly (kernels.cu.props): one family per Kernels/*.cu file, plus the shared
/// headers, and the kernel names each family declares (every kernel is <c>extern "C" __global__</c>).
/// </summary>
public static partial class KernelSources
{
    private static readonly Lazy<Dictionary<string, string>> Files = new(Load);
    private static readonly Lazy<Dictionary<string, string>> KernelToFamily = new(IndexKernels);

    [GeneratedRegex(@"extern\s+""C""\s+__global__\s+void\s+(\w+)\s*\(")]
    private static partial Regex KernelDeclaration();

    /// <summary>Family names (file names without .cu), sorted.</summary>
    public static IReadOnlyList<string> Families => Files.Value.Keys.Where(k => k.EndsWith(".cu")).Select(k => k[..^3]).Order().ToList();

    /// <summary>Header files (name → text) that every family may include.</summary>
    public static IReadOnlyDictionary<string, string> Headers => Files.Value.Where(kv => kv.Key.EndsWith(".cuh")).ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>The source text of <paramref name="family"/>.</summary>
    public static string Source(string family) => Files.Value.TryGetValue(family + ".cu", out var s)
        ? s : throw new ArgumentException($"No kernel family '{family}'; known: {string.Join(", ", Families)}.");

    /// <summary>Kernel names declared in <paramref name="family"/>, in source order.</summary>
    public static IReadOnlyList<string> KernelsOf(string family) =>
        KernelDeclaration().Matches(Source(family)).Select(m => m.Groups[1].Value).ToList();

    /// <summary>Every kernel name of every family.</summary>
    public static IReadOnlyList<string> AllKernels => KernelToFamily.Value.Keys.Order().ToList();

    /// <summary>The family that declares <paramref name="kernel"/>.</summary>
    public static string FamilyOf(string kernel) => KernelToFamily.Value.TryGetValue(kernel, out var f)
        ? f : throw new ArgumentException($"No kernel named '{kernel}' in Kernels/*.cu.");

    private static Dictionary<string, string> Load()
    {
        var asm = typeof(KernelSources).Assembly;
        var files = new Dictionary<string, string>();
        foreach (var name in asm.GetManifestResourceNames().Where(n => n.StartsWith("Kernels/") && !n.StartsWith("Kernels/ptx/")))
        {
            using var stream = asm.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            files[name["Kernels/".Length..]] = reader.ReadToEnd();
        }
        if (files.Count == 0) throw new InvalidOperationException("No kernel sources are embedded in Astmt.Engine (kernels.cu.props).");
        return files;
    }

    private static Dictionary<string, string> IndexKernels()
    {
        var map = new Dictionary<string, string>();
        foreach (var family in Families)
            foreach (var kernel in KernelsOf(family))
                if (!map.TryAdd(kernel, family))
                    throw new InvalidOperationException($"Kernel '{kernel}' is declared in both {map[kernel]}.cu and {family}.cu.");
        return map;
    }
}
