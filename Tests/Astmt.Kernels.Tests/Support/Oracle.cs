using NUnit.Framework;

namespace Astmt.Kernels.Tests.Support;

/// <summary>Comparison with a float64 oracle: |actual − expected| ≤ atol + rtol·|expected|, reporting the worst element.</summary>
public static class Oracle
{
    /// <summary>Float32 elementwise tolerance.</summary>
    public const double Tight = 1e-5;

    /// <summary>Float32 after sums of hundreds of terms.</summary>
    public const double Sum = 1e-4;

    /// <summary>Asserts closeness everywhere; NaN only matches NaN.</summary>
    public static void Close(double[] expected, double[] actual, double atol, double rtol, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        int worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            bool nanE = double.IsNaN(expected[i]), nanA = double.IsNaN(actual[i]);
            double ratio = nanE || nanA ? (nanE == nanA ? 0 : double.PositiveInfinity)
                : Math.Abs(actual[i] - expected[i]) / (atol + rtol * Math.Abs(expected[i]));
            if (ratio > worstRatio) { worstRatio = ratio; worst = i; }
        }
        if (worstRatio > 1)
            Assert.Fail($"{what}: worst element {worst} of {expected.Length}: expected {expected[worst]:R}, got {actual[worst]:R} " +
                        $"({worstRatio:F1}x the tolerance atol {atol:E1} + rtol {rtol:E1}·|expected|).");
    }

    /// <summary>Normal random values from a seeded generator.</summary>
    public static double[] Normal(Random rng, long n, double scale = 1.0)
    {
        var a = new double[n];
        for (long i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            a[i] = scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return a;
    }

    /// <summary>Values rounded to float32 (so the oracle sees exactly what the kernel sees).</summary>
    public static double[] AsFloat(double[] a) => Array.ConvertAll(a, v => (double)(float)v);

    /// <summary>Uniform values in [lo, hi), rounded to float32.</summary>
    public static double[] Uniform(Random rng, long n, double lo, double hi)
    {
        var a = new double[n];
        for (long i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        return a;
    }
}
