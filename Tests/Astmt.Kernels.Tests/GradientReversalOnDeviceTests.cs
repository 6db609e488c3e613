using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cuda;
using Astmt.Engine.Cuda.Backend;
using Astmt.Engine.Ops;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>
/// Gradient reversal's fused backward on the emu device (autograd → IDeviceOps.GradReverseAccumulate → Kernels/grad_reversal.cu):
/// gradients against the CPU backend's unfused path (the oracle) and the device's own unfused path, for the three destinations:
/// a pending gradient accumulated into, the incoming gradient scaled in place, and a leaf's .Grad.
/// </summary>
[TestFixture(EmulatorSchedule.Forward), TestFixture(EmulatorSchedule.Random), Category("Emulator"), NonParallelizable]
public class GradientReversalOnDeviceTests(EmulatorSchedule schedule)
{
    private static readonly Device EmuDevice = new(DeviceKind.Emu);

    [SetUp]
    public void SetUp()
    {
        EmuBackend.Start(schedule);
    }

    [TearDown]
    public void TearDown()
    {
        GradAccumulation.FusionDisabled = false;
        Autograd.ReleaseStep();
    }

    private static Tensor Random(Random rng, int n) => Tensor.FromArray(Array.ConvertAll(Oracle.Normal(rng, n), v => (float)v), n);

    /// <summary>dx of Σ GR(x⊙w)⊙a + Σ (x⊙w)⊙b (the reversal recorded first, so it meets h's pending gradient) on
    /// <paramref name="device"/>, with or without the fused path, and how many fused accumulations ran.</summary>
    private static (double[] Grad, long Fused) Branching(Device device, bool fused, int n, int seed)
    {
        var rng = new Random(seed);
        var x = Random(rng, n).To(device);
        var w = Random(rng, n).To(device);
        var a = Random(rng, n).To(device);
        var b = Random(rng, n).To(device);
        x.RequiresGrad = true;
        GradAccumulation.FusionDisabled = !fused;
        long before = GradAccumulation.FusedCount;
        var h = F.Mul(x, w);
        var reversed = F.Sum(F.Mul(F.GradientReversal(h, 0.7), a));
        var plain = F.Sum(F.Mul(h, b));
        F.Add(reversed, plain).Backward();
        GradAccumulation.FusionDisabled = false;
        return (x.Grad!.ToDoubleArray(), GradAccumulation.FusedCount - before);
    }

    [Test]
    public void AccumulatingIntoAPendingGradientMatchesTheCpuUnfusedPath()
    {
        const int n = 3001; // not a multiple of the 256-thread block: the grid-stride tail runs
        var (cpu, _) = Branching(Device.Cpu, fused: false, n, seed: 21);
        var (unfused, unfusedCount) = Branching(EmuDevice, fused: false, n, seed: 21);
        var (fused, fusedCount) = Branching(EmuDevice, fused: true, n, seed: 21);
        Assert.That(fusedCount, Is.EqualTo(1), "the reversal ran as one grad_reverse_accumulate");
        Assert.That(unfusedCount, Is.Zero);
        Oracle.Close(cpu, unfused, 1e-5, 1e-5, "device unfused vs CPU");
        Oracle.Close(cpu, fused, 1e-5, 1e-5, "device fused vs CPU");
    }

    [Test]
    public void TheFusedBackwardLaunchesOneKernelWhereTheUnfusedOneLaunchesTwo()
    {
        // Unfused, the reversal is an affine_f32 launch (−λ·g) and its accumulation a binary_broadcast_f32 launch (acc + that);
        // fused, both are one grad_reverse_accumulate. Every other launch of the step is the same on both paths.
        Dictionary<string, long> Launches(bool fused)
        {
            using var profiler = new DeviceStepProfiler(CudaBackend.Initialize(EmuDevice).Context, perKernel: true);
            profiler.TimeStep(() => Branching(EmuDevice, fused, 1000, seed: 24));
            return profiler.Kernels.ToDictionary(k => k.Name, k => k.Launches);
        }

        var fused = Launches(fused: true);
        var unfused = Launches(fused: false);
        long Count(Dictionary<string, long> launches, string kernel) => launches.GetValueOrDefault(kernel);
        Assert.That(Count(fused, "grad_reverse_accumulate"), Is.EqualTo(1));
        Assert.That(Count(unfused, "grad_reverse_accumulate"), Is.Zero);
        Assert.That(Count(unfused, "affine_f32") - Count(fused, "affine_f32"), Is.EqualTo(1), "the negation pass is gone");
        Assert.That(Count(unfused, "binary_broadcast_f32") - Count(fused, "binary_broadcast_f32"), Is.EqualTo(1), "the separate accumulation is gone");
        foreach (var kernel in fused.Keys.Union(unfused.Keys).Except(["grad_reverse_accumulate", "affine_f32", "binary_broadcast_f32"]))
            Assert.That(Count(fused, kernel), Is.EqualTo(Count(unfused, kernel)), kernel);
    }

    [Test]
    public void ScalingTheIncomingGradientInPlaceAndWritingALeafGradient()
    {
        var rng = new Random(22);
        var xc = Random(rng, 777);
        var wc = Random(rng, 777);
        var ac = Random(rng, 777);
        var bc = Random(rng, 777);
        var (x, w, a, b) = (xc.To(EmuDevice), wc.To(EmuDevice), ac.To(EmuDevice), bc.To(EmuDevice));
        xc.RequiresGrad = true;
        x.RequiresGrad = true;

        // Σ GR(x⊙w, 0.25)⊙a: the reversal is h's only consumer, so it scales its incoming gradient in place.
        F.Sum(F.Mul(F.GradientReversal(F.Mul(xc, wc), 0.25), ac)).Backward();
        long before = GradAccumulation.FusedCount;
        F.Sum(F.Mul(F.GradientReversal(F.Mul(x, w), 0.25), a)).Backward();
        Assert.That(GradAccumulation.FusedCount - before, Is.EqualTo(1));
        Oracle.Close(xc.Grad!.ToDoubleArray(), x.Grad!.ToDoubleArray(), 1e-6, 1e-6, "dx = −λ·a⊙w");

        // Σ GR(x, 1.5)⊙b on a leaf that already has a gradient: accumulated into x.Grad in place.
        var grad = x.Grad!;
        F.Sum(F.Mul(F.GradientReversal(xc, 1.5), bc)).Backward();
        before = GradAccumulation.FusedCount;
        F.Sum(F.Mul(F.GradientReversal(x, 1.5), b)).Backward();
        Assert.That(GradAccumulation.FusedCount - before, Is.EqualTo(1));
        Assert.That(x.Grad, Is.SameAs(grad), "the leaf keeps its gradient buffer");
        Oracle.Close(xc.Grad!.ToDoubleArray(), x.Grad!.ToDoubleArray(), 1e-6, 1e-6, "dx = −0.25·a⊙w − 1.5·b");
    }

    [Test]
    public void UnderCreateGraphTheDeviceFallsBackToTheDifferentiableBackward()
    {
        // L = Σ GR(x⊙w)² → d/dx Σ dL/dx = 2λ²·w² (the second pass goes back through the reversal), as on the CPU.
        var rng = new Random(23);
        var xc = Random(rng, 300);
        var wc = Random(rng, 300);
        var x = xc.To(EmuDevice);
        var w = wc.To(EmuDevice);
        x.RequiresGrad = true;
        long before = GradAccumulation.FusedCount;
        var first = Autograd.Grad([F.Sum(F.Square(F.GradientReversal(F.Mul(x, w), 0.35)))], [x], createGraph: true)[0]!;
        Assert.That(GradAccumulation.FusedCount, Is.EqualTo(before), "create-graph keeps the differentiable backward");
        var second = Autograd.Grad([F.Sum(first)], [x])[0]!;
        var ws = wc.ToDoubleArray();
        var xs = xc.ToDoubleArray();
        Oracle.Close(xs.Select((v, i) => -2 * 0.35 * v * ws[i] * ws[i]).ToArray(), first.ToDoubleArray(), 1e-5, 1e-5, "dL/dx");
        Oracle.Close(ws.Select(v => 2 * 0.35 * 0.35 * v * v).ToArray(), second.ToDoubleArray(), 1e-5, 1e-5, "d²L");
    }
}
