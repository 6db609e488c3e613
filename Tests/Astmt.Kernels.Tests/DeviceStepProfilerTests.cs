using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cuda;
using Astmt.Engine.Cuda.Backend;
using Astmt.Engine.Ops;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>
/// The device step profiler behind <c>Astmt.Bench train-step|forward --device … --kernels</c>, on the emu device (host clock):
/// launches are attributed to the right kernels and counted exactly, warm-up steps are forgotten at Reset, kernel times nest inside
/// the step time, and disposing detaches the timer from the context.
/// </summary>
[Category("Emulator"), NonParallelizable]
public class DeviceStepProfilerTests
{
    private static readonly Device EmuDevice = new(DeviceKind.Emu);

    private static GpuContext Context()
    {
        _ = Emu.Context;
        return CudaBackend.Initialize(EmuDevice).Context;
    }

    [Test]
    public void CountsEachKernelsLaunchesAndNestsTheirTimesInTheStep()
    {
        var context = Context();
        var x = Tensor.FromArray(Array.ConvertAll(Oracle.Normal(new Random(31), 5000), v => (float)v), 5000).To(EmuDevice);
        // One step: three scalar multiplies (affine_f32, one launch each) and two tensor adds (binary_broadcast_f32, one launch each).
        void Step()
        {
            using var _ = Autograd.NoGrad();
            var a = F.Mul(x, 2.0);
            var b = F.Mul(a, 0.5);
            var c = F.Mul(b, 3.0);
            var d = F.Add(a, c);
            F.Add(d, b).Dispose();
        }

        using (var profiler = new DeviceStepProfiler(context, perKernel: true))
        {
            Assert.That(context.KernelTimer, Is.Not.Null, "per-kernel timing attaches a timer to the context");
            Assert.That(profiler.Clock, Does.StartWith("host clock"), "the emulator says its times are host times");
            profiler.TimeStep(Step); // warm-up: forgotten by Reset
            profiler.Reset();
            double first = profiler.TimeStep(Step);
            double second = profiler.TimeStep(Step);

            Assert.That(profiler.Steps, Is.EqualTo(2));
            Assert.That(profiler.TotalStepMs, Is.EqualTo(first + second).Within(1e-9));
            var kernels = profiler.Kernels.ToDictionary(k => k.Name);
            Assert.That(kernels.Keys, Is.EquivalentTo(new[] { "affine_f32", "binary_broadcast_f32" }));
            Assert.That(kernels["affine_f32"].Launches, Is.EqualTo(6));
            Assert.That(kernels["binary_broadcast_f32"].Launches, Is.EqualTo(4));
            foreach (var k in kernels.Values)
            {
                Assert.That(k.TotalMs, Is.GreaterThanOrEqualTo(0), k.Name);
                Assert.That(k.MeanUs, Is.EqualTo(k.TotalMs * 1000 / k.Launches).Within(1e-9), k.Name);
            }
            // Every launch interval lies inside its step's interval on the same monotonic clock.
            Assert.That(kernels.Values.Sum(k => k.TotalMs), Is.LessThanOrEqualTo(profiler.TotalStepMs));
            Assert.That(profiler.Kernels[0].TotalMs, Is.GreaterThanOrEqualTo(profiler.Kernels[1].TotalMs), "most expensive first");
        }
        Assert.That(context.KernelTimer, Is.Null, "disposing the profiler detaches its timer");
    }

    [Test]
    public void WithoutPerKernelTimingOnlyTheStepIsTimed()
    {
        var context = Context();
        var x = Tensor.FromArray(new float[300], 300).To(EmuDevice);
        using var profiler = new DeviceStepProfiler(context, perKernel: false);
        Assert.That(context.KernelTimer, Is.Null);
        double ms = profiler.TimeStep(() => { using var _ = Autograd.NoGrad(); F.Mul(x, 2.0).Dispose(); });
        Assert.That(ms, Is.GreaterThanOrEqualTo(0));
        Assert.That(profiler.Kernels, Is.Empty);
        Assert.That(profiler.PerKernel, Is.False);
    }

    [Test]
    public void TwoPerKernelProfilersOnOneContextAreRefused()
    {
        var context = Context();
        using var first = new DeviceStepProfiler(context, perKernel: true);
        var error = Assert.Throws<InvalidOperationException>(() => new DeviceStepProfiler(context, perKernel: true));
        Assert.That(error!.Message, Does.Contain("already has a kernel timer"));
    }
}
