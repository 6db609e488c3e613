using Astmt.Engine.Cpu;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Cpu;

/// <summary>The GEMM's planning pieces: the work-item split and the sysfs cache-size parser.</summary>
public class GemmPlanTests
{
    [TestCase(1, 1, 8, 32, 8)]
    [TestCase(45, 65, 8, 32, 8)]
    [TestCase(512, 48, 8, 32, 8)]
    [TestCase(64, 12288, 8, 32, 8)]
    [TestCase(2048, 2048, 6, 16, 16)]
    [TestCase(7, 1000, 4, 8, 3)]
    public void WorkItemsTileCOnceOnTheTileGrid(int m, int n, int mr, int nr, int target)
    {
        var blocking = new GemmBlocking(KC: 192, MC: 680 / mr * mr, NC: 4096 / nr * nr);
        var plan = WorkItems.Plan(m, n, mr, nr, blocking, target);
        var owner = new int[m, n];
        for (int i = 0; i < plan.Count; i++)
        {
            var (m0, m1, n0, n1) = plan.Rect(i, m, n);
            Assert.That(m0 % mr, Is.Zero, "item rows must start on the MR grid");
            Assert.That(n0 % nr, Is.Zero, "item columns must start on the NR grid");
            for (int r = m0; r < m1; r++)
                for (int c = n0; c < n1; c++) owner[r, c]++;
        }
        Assert.That(owner.Cast<int>(), Is.All.EqualTo(1), "every element of C belongs to exactly one item");
    }

    [TestCase("48K", 48 * 1024)]
    [TestCase("1024K", 1024 * 1024)]
    [TestCase("32M", 32 * 1024 * 1024)]
    [TestCase("512", 512)]
    [TestCase("", 0)]
    [TestCase("garbage", 0)]
    public void ParsesSysfsCacheSizes(string text, int bytes) => Assert.That(CacheSizes.ParseSize(text), Is.EqualTo(bytes));
}
