using Astmt.Engine;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Support;

/// <summary>Tolerance-based comparison that reports the worst element, its index, and the error as a multiple of the tolerance.</summary>
public static class Numeric
{
    /// <summary>Asserts |actual - expected| ≤ atol + rtol·|expected| everywhere.</summary>
    public static void AssertClose(double[] expected, double[] actual, double atol, double rtol, string what = "")
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        int worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = atol + rtol * Math.Abs(expected[i]);
            double err = Math.Abs(actual[i] - expected[i]);
            double ratio = double.IsNaN(actual[i]) != double.IsNaN(expected[i]) ? double.PositiveInfinity : (double.IsNaN(err) ? 0 : err / tol);
            if (ratio > worstRatio) { worstRatio = ratio; worst = i; }
        }
        if (worstRatio > 1)
            Assert.Fail($"{what}: worst element {worst}: expected {expected[worst]:R}, got {actual[worst]:R}, error {Math.Abs(actual[worst] - expected[worst]):E3} = {worstRatio:F1}x tolerance (atol {atol:E1}, rtol {rtol:E1}).");
    }

    /// <summary>Asserts two tensors agree elementwise within tolerance (any dtype or device).</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double atol, double rtol, string what = "")
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"{what}: shape");
        AssertClose(expected.ToDoubleArray(), actual.ToDoubleArray(), atol, rtol, what);
    }

    /// <summary>A float64 tensor of normal random values from a seeded generator.</summary>
    public static Tensor RandomDouble(Random rng, params int[] shape)
    {
        var data = new double[ShapeUtil.Numel(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = Gaussian(rng);
        return Tensor.FromArray(data, shape);
    }

    /// <summary>A float32 tensor of normal random values from a seeded generator.</summary>
    public static Tensor RandomFloat(Random rng, params int[] shape)
    {
        var data = new float[ShapeUtil.Numel(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)Gaussian(rng);
        return Tensor.FromArray(data, shape);
    }

    /// <summary>A standard normal sample (Box-Muller).</summary>
    public static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
