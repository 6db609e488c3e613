using System.Text.RegularExpressions;
using Astmt.Engine.Cuda;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>Every kernel family compiles with NVRTC, without a warning, for Volta, Ampere and Hopper, and exports every kernel
/// its source declares. Skipped with the reason when libnvrtc is not installed.</summary>
[TestFixture, Category("Nvrtc")]
public class NvrtcCompileTests
{
    private static readonly string[] Architectures = ["compute_70", "compute_80", "compute_90"];

    private static IEnumerable<TestCaseData> Cases() =>
        from family in KernelSources.Families
        from arch in Architectures
        select new TestCaseData(family, arch).SetName($"Compiles({family}, {arch})");

    private static void RequireNvrtc()
    {
        if (!NvrtcCompiler.IsAvailable(out var why)) Assert.Ignore($"NVRTC is not installed ({why}); CI installs libnvrtc11.2.");
    }

    [TestCaseSource(nameof(Cases))]
    public void Compiles(string family, string arch)
    {
        RequireNvrtc();
        var result = NvrtcCompiler.Compile(KernelSources.Source(family), family + ".cu", arch, KernelSources.Headers);
        Assert.That(result.Log, Is.Empty, $"NVRTC warnings for {family}.cu ({arch})");
        var entries = Regex.Matches(result.Ptx, @"\.entry\s+(\w+)").Select(m => m.Groups[1].Value).Order().ToArray();
        Assert.That(entries, Is.EqualTo(KernelSources.KernelsOf(family).Order().ToArray()), $"PTX entries of {family}.cu");
        Assert.That(result.Ptx, Does.Contain($".target sm_{arch["compute_".Length..]}"));
        // Tools/ptxas-report.sh asks for the PTX, to run ptxas on exactly what the engine loads.
        var dump = Environment.GetEnvironmentVariable("ASTMT_PTX_DUMP_DIR");
        if (!string.IsNullOrEmpty(dump)) File.WriteAllText(Path.Combine(dump, $"{family}-{arch}.ptx"), result.Ptx);
    }

    [Test]
    public void ACompileErrorNamesTheFileAndCarriesTheLog()
    {
        RequireNvrtc();
        var ex = Assert.Throws<NvrtcException>(() =>
            NvrtcCompiler.Compile("extern \"C\" __global__ void broken(float* y) { y[0] = undefined_name; }", "broken.cu", "compute_80",
                new Dictionary<string, string>()));
        Assert.That(ex!.Message, Does.Contain("nvrtcCompileProgram").And.Contain("broken.cu").And.Contain("undefined_name"));
    }

    [Test]
    public void PtxCacheCompilesOnceThenReadsFromDisk()
    {
        RequireNvrtc();
        var dir = Path.Combine(Path.GetTempPath(), "astmt-ptx-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var cache = new PtxCache(dir);
            var first = cache.GetOrCompile("grad_reversal", "compute_80");
            var second = cache.GetOrCompile("grad_reversal", "compute_80");
            Assert.That(cache.Compilations, Is.EqualTo(1));
            Assert.That(second, Is.EqualTo(first));
            Assert.That(Directory.GetFiles(dir, "grad_reversal-*-compute_80.ptx"), Has.Length.EqualTo(1));
            cache.GetOrCompile("grad_reversal", "compute_70");
            Assert.That(cache.Compilations, Is.EqualTo(2), "the architecture is part of the key");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
