namespace Astmt.Models.Tests.Data;

/// <summary>Finds Tests/Astmt.Models.Tests/Fixtures: copied next to the test assembly, or in the source tree above it.</summary>
internal static class FixtureFiles
{
    private static readonly Lazy<string> Root = new(Locate);

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root.Value, .. parts]);

    private static string Locate()
    {
        var copied = System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures");
        if (Directory.Exists(System.IO.Path.Combine(copied, "npy"))) return copied;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = System.IO.Path.Combine(dir.FullName, "Tests", "Astmt.Models.Tests", "Fixtures");
            if (Directory.Exists(System.IO.Path.Combine(candidate, "npy"))) return candidate;
        }
        throw new DirectoryNotFoundException(
            $"Fixtures not found next to {AppContext.BaseDirectory} or above it; run /usr/bin/python3 Tools/fixtures/make_npy_fixtures.py.");
    }
}

/// <summary>A temporary directory deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(FullName);

    public string FullName { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "astmt-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(FullName, recursive: true); } catch (IOException) { }
    }
}
