using NUnit.Framework;

namespace Astmt.Engine.Tests.Support;

/// <summary>Locates golden fixtures: this project's (copied to the output folder) and other test projects' (in the source tree).</summary>
public static class Fixtures
{
    /// <summary>Path of <paramref name="name"/> under this project's Fixtures folder in the output directory.</summary>
    public static string Path(string name) => System.IO.Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name);

    /// <summary>The repository root (the folder holding Astmt.Native.sln), found by walking up from the test output folder.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Astmt.Native.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No Astmt.Native.sln above {TestContext.CurrentContext.TestDirectory}.");
    }

    /// <summary>A fresh empty folder for files a test writes; deleted by the caller's TearDown.</summary>
    public static string NewTempFolder()
    {
        var dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "astmt-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
