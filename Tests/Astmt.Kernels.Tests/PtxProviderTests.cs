using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Astmt.Engine.Cuda;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>
/// <see cref="PtxProvider"/>: embedded (nvcc) PTX is used only for the highest embedded architecture not above the device's
/// and only when its sidecar lists the SHA-256 of the current source and headers; otherwise NVRTC. The resources are built
/// here from the real embedded sources, with sidecars written in the format of kernels.cu.props ("HEX file" lines).
/// </summary>
[TestFixture]
public class PtxProviderTests
{
    private const string Family = "grad_reversal";

    /// <summary>A resource set: the Engine's embedded sources plus whatever PTX a test adds; counts NVRTC fallbacks.</summary>
    private sealed class Resources
    {
        public readonly Dictionary<string, byte[]> Files = new(StringComparer.Ordinal);
        public readonly List<(string Family, string Architecture)> NvrtcCalls = [];

        public Resources()
        {
            var asm = typeof(KernelSources).Assembly;
            foreach (var name in asm.GetManifestResourceNames())
            {
                if (!name.StartsWith("Kernels/") || name.StartsWith("Kernels/ptx/")) continue;
                using var stream = asm.GetManifestResourceStream(name)!;
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                Files[name] = copy.ToArray();
            }
        }

        public IEnumerable<string> Headers => Files.Keys.Where(n => n.EndsWith(".cuh")).Select(n => n["Kernels/".Length..]);

        /// <summary>Adds <paramref name="ptx"/> for <paramref name="arch"/> with a sidecar listing <paramref name="hashedFiles"/>
        /// (file → the bytes it was "built from"; default: the family's source and every header as embedded).</summary>
        public void AddPtx(string family, int arch, string ptx, IReadOnlyDictionary<string, byte[]>? hashedFiles = null)
        {
            hashedFiles ??= Headers.Append(family + ".cu").ToDictionary(f => f, f => Files["Kernels/" + f]);
            string name = $"Kernels/ptx/{family}.compute_{arch}.ptx";
            Files[name] = Encoding.UTF8.GetBytes(ptx);
            // sha256sum-style lowercase hex; MSBuild's GetFileHash writes uppercase: both must be accepted.
            var lines = hashedFiles.Select(kv => Convert.ToHexString(SHA256.HashData(kv.Value)).ToLowerInvariant() + " " + kv.Key);
            Files[name + ".sha256"] = Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n");
        }

        public PtxProvider Provider() => new(Files.Keys.ToList(), n => Files.TryGetValue(n, out var b) ? b : null, (family, arch) =>
        {
            NvrtcCalls.Add((family, arch));
            return $"// nvrtc {family} {arch}";
        });
    }

    private static string FakePtx(int arch) => $"// embedded ptx for compute_{arch}";

    [Test]
    public void UsesEmbeddedPtxWhenItsSourceHashesMatch()
    {
        var r = new Resources();
        r.AddPtx(Family, 70, FakePtx(70));
        r.AddPtx(Family, 80, FakePtx(80));
        var choice = r.Provider().Get(Family, 86);
        Assert.That(choice.Origin, Is.EqualTo(PtxOrigin.Embedded), choice.Reason);
        Assert.That(choice.Architecture, Is.EqualTo("compute_80"));
        Assert.That(choice.Ptx, Is.EqualTo(FakePtx(80)));
        Assert.That(r.NvrtcCalls, Is.Empty);
    }

    [TestCase(70, 70)]
    [TestCase(75, 70)]
    [TestCase(80, 80)]
    [TestCase(89, 80)]
    [TestCase(90, 90)]
    [TestCase(120, 90)]
    public void ChoosesTheHighestEmbeddedArchitectureNotAboveTheDevice(int device, int expected)
    {
        var r = new Resources();
        foreach (int arch in new[] { 90, 70, 80 }) r.AddPtx(Family, arch, FakePtx(arch));
        var choice = r.Provider().Get(Family, device);
        Assert.That((choice.Origin, choice.Architecture, choice.Ptx), Is.EqualTo((PtxOrigin.Embedded, $"compute_{expected}", FakePtx(expected))));
    }

    [TestCase(61, "compute_61")]
    [TestCase(52, "compute_52")]
    public void FallsBackToNvrtcWhenEveryEmbeddedArchitectureIsAboveTheDevice(int device, string nvrtcArch)
    {
        var r = new Resources();
        r.AddPtx(Family, 70, FakePtx(70));
        var choice = r.Provider().Get(Family, device);
        Assert.That(choice.Origin, Is.EqualTo(PtxOrigin.Nvrtc));
        Assert.That(r.NvrtcCalls, Is.EqualTo(new[] { (Family, nvrtcArch) }));
        Assert.That(choice.Ptx, Is.EqualTo($"// nvrtc {Family} {nvrtcArch}"));
    }

    [TestCase(86, "compute_86")]
    [TestCase(100, "compute_90")]
    public void FallsBackToNvrtcWhenNothingIsEmbeddedForTheFamily(int device, string nvrtcArch)
    {
        var r = new Resources();
        r.AddPtx("conv", 80, FakePtx(80)); // another family's PTX must not be picked
        var choice = r.Provider().Get(Family, device);
        Assert.That((choice.Origin, choice.Architecture), Is.EqualTo((PtxOrigin.Nvrtc, nvrtcArch)));
        Assert.That(r.NvrtcCalls, Is.EqualTo(new[] { (Family, nvrtcArch) }));
        Assert.That(choice.Reason, Does.Contain("no embedded PTX"));
    }

    private static IEnumerable<TestCaseData> StaleSidecars()
    {
        yield return new TestCaseData("source edited", (Action<Dictionary<string, byte[]>>)(h =>
            h[Family + ".cu"] = [.. h[Family + ".cu"], (byte)'\n']), "changed").SetName("StaleWhenTheSourceChanged");
        yield return new TestCaseData("header edited", (Action<Dictionary<string, byte[]>>)(h =>
            h["common.cuh"] = [.. h["common.cuh"], (byte)' ']), "changed").SetName("StaleWhenAHeaderChanged");
        yield return new TestCaseData("header not recorded", (Action<Dictionary<string, byte[]>>)(h =>
            h.Remove("common.cuh")), "not in the sidecar").SetName("StaleWhenAHeaderWasNotAnInput");
        yield return new TestCaseData("extra input", (Action<Dictionary<string, byte[]>>)(h =>
            h["gone.cuh"] = [1, 2, 3]), "no longer embedded").SetName("StaleWhenAnInputIsNoLongerEmbedded");
    }

    [TestCaseSource(nameof(StaleSidecars))]
    public void FallsBackToNvrtcWhenTheEmbeddedPtxIsStale(string what, Action<Dictionary<string, byte[]>> edit, string reason)
    {
        var r = new Resources();
        var hashed = r.Headers.Append(Family + ".cu").ToDictionary(f => f, f => r.Files["Kernels/" + f]);
        edit(hashed);
        r.AddPtx(Family, 80, FakePtx(80), hashed);
        var choice = r.Provider().Get(Family, 80);
        Assert.That(choice.Origin, Is.EqualTo(PtxOrigin.Nvrtc), what);
        Assert.That(choice.Reason, Does.Contain("stale").And.Contain(reason));
        Assert.That(r.NvrtcCalls, Is.EqualTo(new[] { (Family, "compute_80") }));
    }

    [Test]
    public void FallsBackToNvrtcWhenTheSidecarIsMissing()
    {
        var r = new Resources();
        r.AddPtx(Family, 80, FakePtx(80));
        r.Files.Remove($"Kernels/ptx/{Family}.compute_80.ptx.sha256");
        var choice = r.Provider().Get(Family, 80);
        Assert.That(choice.Origin, Is.EqualTo(PtxOrigin.Nvrtc));
        Assert.That(choice.Reason, Does.Contain("sidecar is missing"));
    }

    [Test]
    public void ANonPositiveComputeCapabilityIsRejected()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Resources().Provider().Get(Family, 0));
        Assert.That(ex!.Message, Does.Contain("compute capability").And.Contain(Family));
    }

    /// <summary>PTX that NVRTC produced for a family, embedded as nvcc's would be, is taken by the provider unchanged and
    /// exports every kernel the family's source declares.</summary>
    [Category("Nvrtc")]
    [TestCase("grad_reversal")]
    [TestCase("se")]
    public void NvrtcPtxEmbeddedForAFamilyIsAcceptedAndExportsEveryKernel(string family)
    {
        if (!NvrtcCompiler.IsAvailable(out var why)) Assert.Ignore($"NVRTC is not installed ({why}); CI installs libnvrtc11.2.");
        string ptx = NvrtcCompiler.Compile(KernelSources.Source(family), family + ".cu", "compute_80", KernelSources.Headers).Ptx;
        var r = new Resources();
        r.AddPtx(family, 80, ptx);
        var choice = r.Provider().Get(family, 86);
        Assert.That((choice.Origin, choice.Architecture), Is.EqualTo((PtxOrigin.Embedded, "compute_80")), choice.Reason);
        Assert.That(choice.Ptx, Is.EqualTo(ptx));
        Assert.That(r.NvrtcCalls, Is.Empty);
        var entries = Regex.Matches(choice.Ptx, @"\.entry\s+(\w+)").Select(m => m.Groups[1].Value).Order().ToArray();
        Assert.That(entries, Is.EqualTo(KernelSources.KernelsOf(family).Order().ToArray()));
        Assert.That(choice.Ptx, Does.Contain(".target sm_80"));
    }

    /// <summary>When the Engine was built with nvcc, every embedded PTX has a sidecar whose hashes (GetFileHash at build
    /// time) match the embedded sources, so the default provider uses it. Ignored for builds without nvcc (CI).</summary>
    [Test]
    public void PtxEmbeddedByTheBuildIsCurrentAndChosen()
    {
        var names = typeof(KernelSources).Assembly.GetManifestResourceNames();
        var embedded = names.Where(n => n.StartsWith("Kernels/ptx/") && n.EndsWith(".ptx")).Order().ToList();
        if (embedded.Count == 0) Assert.Ignore("Astmt.Engine was built without nvcc: no precompiled PTX is embedded.");
        TestContext.Out.WriteLine($"{embedded.Count} embedded PTX modules: {string.Join(", ", embedded)}");
        foreach (var name in embedded)
        {
            Assert.That(names, Does.Contain(name + ".sha256"), name);
            var m = Regex.Match(name, @"^Kernels/ptx/(\w+)\.compute_(\d+)\.ptx$");
            Assert.That(m.Success, name);
            var choice = PtxProvider.Default.Get(m.Groups[1].Value, int.Parse(m.Groups[2].Value));
            Assert.That((choice.Origin, choice.Architecture), Is.EqualTo((PtxOrigin.Embedded, "compute_" + m.Groups[2].Value)), choice.Reason);
            var entries = Regex.Matches(choice.Ptx, @"\.entry\s+(\w+)").Select(e => e.Groups[1].Value).Order().ToArray();
            Assert.That(entries, Is.EqualTo(KernelSources.KernelsOf(m.Groups[1].Value).Order().ToArray()), name);
        }
    }
}
