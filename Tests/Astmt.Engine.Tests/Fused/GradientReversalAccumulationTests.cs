using Astmt.Engine.Autograd;
using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Fused;

/// <summary>
/// Gradient reversal's backward fused into gradient accumulation (acc += −λ·g in one pass): gradients against float64 loops and
/// against the unfused path (the node's differentiable backward, <see cref="GradAccumulation.FusionDisabled"/>), proof that the fused
/// path runs and rents nothing, and the cases where it must not run (a pending gradient shared by two inputs, create-graph).
/// </summary>
[NonParallelizable]
public class GradientReversalAccumulationTests
{
    // Odd and above the parallel split (32 Ki elements), so the vector body, the scalar tail and both threads' ranges all run.
    private const int Large = 70_001;

    [TearDown]
    public void EnableFusion()
    {
        GradAccumulation.FusionDisabled = false;
        Autograd.Autograd.ReleaseStep();
    }

    private static Tensor Random(Random rng, DType dtype, int n) =>
        dtype == DType.Float32 ? Numeric.RandomFloat(rng, n) : Numeric.RandomDouble(rng, n);

    /// <summary>x → h = x⊙w, which feeds both a gradient reversal (loss term Σ GR(h)⊙a) and a plain branch (Σ h⊙b); with
    /// <paramref name="reversalFirst"/> the reversal is recorded first, so its backward runs last and meets h's pending gradient.</summary>
    private static (double[] Grad, long Fused) Branching(DType dtype, int n, double lambda, bool reversalFirst, bool fused, int seed)
    {
        var rng = new Random(seed);
        var x = Random(rng, dtype, n);
        var w = Random(rng, dtype, n);
        var a = Random(rng, dtype, n);
        var b = Random(rng, dtype, n);
        x.RequiresGrad = true;
        GradAccumulation.FusionDisabled = !fused;
        long before = GradAccumulation.FusedCount;
        var h = F.Mul(x, w);
        Tensor reversed, plain;
        if (reversalFirst) { reversed = F.Sum(F.Mul(F.GradientReversal(h, lambda), a)); plain = F.Sum(F.Mul(h, b)); }
        else { plain = F.Sum(F.Mul(h, b)); reversed = F.Sum(F.Mul(F.GradientReversal(h, lambda), a)); }
        F.Add(reversed, plain).Backward();
        GradAccumulation.FusionDisabled = false;
        return (x.Grad!.ToDoubleArray(), GradAccumulation.FusedCount - before);
    }

    /// <summary>d/dx [Σ GR(x⊙w)⊙a + Σ (x⊙w)⊙b] = w⊙(b − λa), in float64 loops from the same seeded inputs.</summary>
    private static double[] BranchingOracle(DType dtype, int n, double lambda, int seed)
    {
        var rng = new Random(seed);
        _ = Random(rng, dtype, n);
        var w = Random(rng, dtype, n).ToDoubleArray();
        var a = Random(rng, dtype, n).ToDoubleArray();
        var b = Random(rng, dtype, n).ToDoubleArray();
        var expected = new double[n];
        for (int i = 0; i < n; i++) expected[i] = w[i] * (b[i] - lambda * a[i]);
        return expected;
    }

    [Test]
    public void FusedGradientOfABranchingGraphMatchesFloat64AndTheUnfusedPath(
        [Values(DType.Float32, DType.Float64)] DType dtype, [Values(true, false)] bool reversalFirst, [Values(37, Large)] int n)
    {
        const double lambda = 0.7;
        var (fused, fusedCount) = Branching(dtype, n, lambda, reversalFirst, fused: true, seed: 5);
        var (unfused, unfusedCount) = Branching(dtype, n, lambda, reversalFirst, fused: false, seed: 5);
        Assert.That(fusedCount, Is.EqualTo(1), "the reversal's backward ran as an in-place accumulation");
        Assert.That(unfusedCount, Is.Zero, "the switch turns the fused path off");
        // Float32 rounds each of the few steps (|terms| up to ~16 for normal inputs): a few ulps of 16.
        double tolerance = dtype == DType.Float32 ? 1e-5 : 1e-13;
        var oracle = BranchingOracle(dtype, n, lambda, seed: 5);
        Numeric.AssertClose(oracle, fused, tolerance, tolerance, "fused vs float64");
        Numeric.AssertClose(oracle, unfused, tolerance, tolerance, "unfused vs float64");
        // FMA rounds once where the unfused path rounds the product and then the sum: they differ by at most about an ulp of the
        // product (times w), far below the float64 oracle's tolerance.
        double ulp = dtype == DType.Float32 ? 6e-8 : 1.2e-16;
        Numeric.AssertClose(unfused, fused, 32 * ulp, 4 * ulp, "fused vs unfused");
    }

    [Test]
    public void WithAnExactScaleFusedAndUnfusedGradientsAreBitwiseEqual([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        // λ = 0.5 makes −λ·g exact, so the single rounding of the FMA equals the two roundings of multiply-then-add.
        var (fused, _) = Branching(dtype, 1001, 0.5, reversalFirst: true, fused: true, seed: 6);
        var (unfused, _) = Branching(dtype, 1001, 0.5, reversalFirst: true, fused: false, seed: 6);
        Assert.That(fused, Is.EqualTo(unfused));
    }

    [Test]
    public void TheFusedPathRentsNoBufferSoTheBackwardPeakDrops()
    {
        const int n = 1 << 16;
        long Peak(bool fused)
        {
            var rng = new Random(7);
            var x = Numeric.RandomFloat(rng, n);
            x.RequiresGrad = true;
            var a = Numeric.RandomFloat(rng, n);
            var b = Numeric.RandomFloat(rng, n);
            var h = F.Mul(x, 2.0);
            var loss = F.Add(F.Sum(F.Mul(F.GradientReversal(h, 0.3), a)), F.Sum(F.Mul(h, b)));
            Finalizers.Settle();
            GradAccumulation.FusionDisabled = !fused;
            BufferPool.ResetPeak();
            long start = BufferPool.RentedBytes;
            loss.Backward();
            GradAccumulation.FusionDisabled = false;
            return BufferPool.PeakRentedBytes - start;
        }

        Peak(fused: true); // warm the pool and the code paths
        long unfused = Peak(fused: false);
        long fused = Peak(fused: true);
        // Unfused, the reversal rents −λ·g and then the sum acc + (−λ·g) while acc and g are live (four buffers); fused, it writes
        // into acc (two). The fused backward's peak is then elsewhere (x's gradient and its leaf copy beside acc: three buffers),
        // so the step's peak drops by one buffer.
        Assert.That(unfused - fused, Is.GreaterThanOrEqualTo((long)n * sizeof(float)), $"peak rented during backward: unfused {unfused} B, fused {fused} B");
    }

    [Test]
    public void ReversalAloneScalesItsIncomingGradientInPlace([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        var rng = new Random(8);
        var x = Random(rng, dtype, 301);
        var w = Random(rng, dtype, 301);
        var a = Random(rng, dtype, 301);
        x.RequiresGrad = true;
        long before = GradAccumulation.FusedCount;
        F.Sum(F.Mul(F.GradientReversal(F.Mul(x, w), 0.25), a)).Backward();
        Assert.That(GradAccumulation.FusedCount - before, Is.EqualTo(1));
        var ws = w.ToDoubleArray();
        var expected = a.ToDoubleArray().Select((v, i) => -0.25 * v * ws[i]).ToArray();
        Numeric.AssertClose(expected, x.Grad!.ToDoubleArray(), 1e-7, 1e-6, "dx = −λ·a⊙w");
    }

    [Test]
    public void IntoALeafGradientItAccumulatesAcrossBackwards([Values(DType.Float32, DType.Float64)] DType dtype)
    {
        var rng = new Random(9);
        var x = Random(rng, dtype, 513);
        var a = Random(rng, dtype, 513);
        var b = Random(rng, dtype, 513);
        x.RequiresGrad = true;
        long before = GradAccumulation.FusedCount;
        F.Sum(F.Mul(F.GradientReversal(x, 0.4), a)).Backward(); // x.Grad is created by the fused write
        var first = x.Grad!;
        F.Sum(F.Mul(F.GradientReversal(x, 1.5), b)).Backward(); // and accumulated into in place
        Assert.That(GradAccumulation.FusedCount - before, Is.EqualTo(2));
        Assert.That(x.Grad, Is.SameAs(first), "the leaf keeps its gradient buffer");
        var av = a.ToDoubleArray();
        var expected = b.ToDoubleArray().Select((v, i) => -0.4 * av[i] - 1.5 * v).ToArray();
        Numeric.AssertClose(expected, x.Grad!.ToDoubleArray(), 1e-6, 1e-6, "dx = −0.4·a − 1.5·b");
    }

    [Test]
    public void APendingGradientThatAnotherInputAlsoHoldsIsNotWrittenInto()
    {
        // Add hands one gradient tensor to both its inputs u and v; reversing into u's pending gradient in place would change v's.
        var rng = new Random(10);
        var x = Numeric.RandomDouble(rng, 64);
        var w = Numeric.RandomDouble(rng, 64);
        var w2 = Numeric.RandomDouble(rng, 64);
        var a = Numeric.RandomDouble(rng, 64);
        var c = Numeric.RandomDouble(rng, 64);
        x.RequiresGrad = true;
        var u = F.Mul(x, w);
        var v = F.Mul(x, w2);
        var reversed = F.Sum(F.Mul(F.GradientReversal(u, 0.9), c));
        var sum = F.Sum(F.Mul(F.Add(u, v), a));
        F.Add(reversed, sum).Backward();
        // d/dx = w⊙(a − 0.9·c) + w2⊙a
        var (ws, w2s, avs, cs) = (w.ToDoubleArray(), w2.ToDoubleArray(), a.ToDoubleArray(), c.ToDoubleArray());
        var expected = Enumerable.Range(0, 64).Select(i => ws[i] * (avs[i] - 0.9 * cs[i]) + w2s[i] * avs[i]).ToArray();
        Numeric.AssertClose(expected, x.Grad!.ToDoubleArray(), 1e-14, 1e-14, "dx");
    }

    [Test]
    public void GradOfAnIntermediateTargetIsTheFusedSum()
    {
        var rng = new Random(11);
        var x = Numeric.RandomDouble(rng, 50);
        var a = Numeric.RandomDouble(rng, 50);
        var b = Numeric.RandomDouble(rng, 50);
        x.RequiresGrad = true;
        var h = F.Mul(x, 3.0);
        var loss = F.Add(F.Sum(F.Mul(F.GradientReversal(h, 0.6), a)), F.Sum(F.Mul(h, b)));
        var dh = Autograd.Autograd.Grad([loss], [h])[0]!;
        var av = a.ToDoubleArray();
        Numeric.AssertClose(b.ToDoubleArray().Select((v, i) => v - 0.6 * av[i]).ToArray(), dh.ToDoubleArray(), 1e-14, 1e-14, "dloss/dh = b − λa");
        Assert.That(x.Grad, Is.Null, "Grad() leaves leaf gradients alone");
    }

    [Test]
    public void UnderCreateGraphTheDifferentiableBackwardRunsAndSecondOrderGradientsAreRight()
    {
        // L = Σ GR(h)² + Σ h⊙c with h = x⊙w: dL/dx = w⊙(−2λ·GR(h) + c), still differentiable; differentiating it again goes back
        // through the reversal (GR(h)'s gradient is reversed once more), so d/dx Σ dL/dx = 2λ²·w².
        var rng = new Random(12);
        var x = Numeric.RandomDouble(rng, 40);
        var w = Numeric.RandomDouble(rng, 40);
        var c = Numeric.RandomDouble(rng, 40);
        x.RequiresGrad = true;
        const double lambda = 0.35;
        var h = F.Mul(x, w);
        var loss = F.Add(F.Sum(F.Square(F.GradientReversal(h, lambda))), F.Sum(F.Mul(h, c)));
        long before = GradAccumulation.FusedCount;
        var first = Autograd.Autograd.Grad([loss], [x], createGraph: true)[0]!;
        Assert.That(GradAccumulation.FusedCount, Is.EqualTo(before), "create-graph keeps the differentiable backward");
        Assert.That(first.RequiresGrad, Is.True);
        var (xs, ws, cs) = (x.ToDoubleArray(), w.ToDoubleArray(), c.ToDoubleArray());
        Numeric.AssertClose(xs.Select((v, i) => ws[i] * (-2 * lambda * v * ws[i] + cs[i])).ToArray(), first.ToDoubleArray(), 1e-14, 1e-14, "dL/dx");
        var second = Autograd.Autograd.Grad([F.Sum(first)], [x])[0]!;
        Numeric.AssertClose(ws.Select(v => 2 * lambda * lambda * v * v).ToArray(), second.ToDoubleArray(), 1e-14, 1e-14, "d²L");
    }
}
