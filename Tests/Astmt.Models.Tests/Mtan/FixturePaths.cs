using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

internal static class FixturePaths
{
    public static string Get(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name);
}
