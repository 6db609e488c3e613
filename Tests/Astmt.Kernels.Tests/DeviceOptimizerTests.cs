using Astmt.Engine;
using Astmt.Engine.Cuda;
using Astmt.Engine.NN;
using Astmt.Engine.Optim;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>
/// The optimizers' device path (Optimizer.Step on emu parameters → IDeviceOps.AdamStep/SgdStep → Kernels/optim.cu) against the
/// CPU optimizers on the same parameters and gradients, over several steps: parameters and state buffers after every step, the
/// state staying on the device, and a state dict saved from the device and loaded into a fresh device optimizer continuing
/// exactly.
/// </summary>
/// <remarks>
/// Tolerance. Both sides compute each element in float32 (unit roundoff u = 2^-24) with a handful of operations per step, in
/// a slightly different association for Adam (the kernel divides m by bc1 and v by bc2, the CPU folds them into the step size
/// and √bc2), so one step may differ by a few roundings of |p| and of the update, whose size is at most lr·(1 − β1)/√(1 − β2)
/// ≈ 3.2·lr for Adam (lr·(1 + μ)/(1 − μ) for SGD with momentum, here ≤ 19·lr on the gradients of ≤ 3). Errors add over steps, so
/// after k steps |emu − cpu| ≤ k·16u·(|p| + 20·lr·max|g|), i.e. 16 roundings per step, which is the bound used below.
/// </remarks>
[TestFixture, Category("Emulator")]
public class DeviceOptimizerTests
{
    private const double U = 1.0 / (1 << 24);
    private const int Steps = 4;
    private static readonly Device EmuDevice = new(DeviceKind.Emu);
    private static readonly int[][] Shapes = [[7], [3, 5, 11], [1031]];

    private static void Start()
    {
        EmuBackend.Start(EmulatorSchedule.Random);
    }

    private static (Tensor[] Cpu, Tensor[] Emu) Parameters(Random rng)
    {
        var cpu = Shapes.Select(s => Parameter.From(Tensor.FromArray(Array.ConvertAll(Oracle.Normal(rng, s.Aggregate(1, (a, b) => a * b)), v => (float)v), s))).ToArray();
        var emu = cpu.Select(p => Parameter.From(p.To(EmuDevice))).ToArray();
        return (cpu, emu);
    }

    private static void SetGradients(Random rng, Tensor[] cpu, Tensor[] emu)
    {
        for (int i = 0; i < cpu.Length; i++)
        {
            var g = Tensor.FromArray(Array.ConvertAll(Oracle.Normal(rng, cpu[i].Numel, 1.5), v => (float)Math.Clamp(v, -3, 3)), cpu[i].Shape);
            cpu[i].Grad = g;
            emu[i].Grad = g.To(EmuDevice);
        }
    }

    private static void AssertSame(Optimizer cpuOpt, Optimizer emuOpt, Tensor[] cpu, Tensor[] emu, int steps, double lr, string what)
    {
        double atol = steps * 16 * U * 20 * lr * 3, rtol = steps * 16 * U;
        for (int i = 0; i < cpu.Length; i++)
        {
            Assert.That(emu[i].Device, Is.EqualTo(EmuDevice), $"{what}: parameter {i} left the device");
            Oracle.Close(cpu[i].ToDoubleArray(), emu[i].ToDoubleArray(), atol, rtol, $"{what}: parameter {i} after {steps} steps");
            foreach (var name in cpuOpt.BufferNames)
            {
                var expected = cpuOpt.State(i, name);
                var actual = emuOpt.State(i, name);
                Assert.That(actual == null, Is.EqualTo(expected == null), $"{what}: state {name} of parameter {i} exists on one side only");
                if (expected == null) continue;
                Assert.That(actual!.Device, Is.EqualTo(EmuDevice), $"{what}: state {name} of parameter {i} is not on the device");
                // Moments are products of the gradients (≤ 3, squares ≤ 9) with a few roundings per step.
                Oracle.Close(expected.ToDoubleArray(), actual.ToDoubleArray(), steps * 16 * U * 9, rtol, $"{what}: {name} of parameter {i}");
            }
            Assert.That(emuOpt.StepCount(i), Is.EqualTo(cpuOpt.StepCount(i)));
        }
    }

    [Test]
    public void AdamOnTheDeviceMatchesTheCpuAdam([Values(0.0, 0.01)] double weightDecay)
    {
        Start();
        const double lr = 1e-2;
        var rng = new Random(41);
        var (cpu, emu) = Parameters(rng);
        var cpuOpt = new Adam(cpu, lr, weightDecay: weightDecay);
        var emuOpt = new Adam(emu, lr, weightDecay: weightDecay);
        var start = cpu.Select(p => p.ToDoubleArray()).ToArray();
        for (int step = 1; step <= Steps; step++)
        {
            SetGradients(rng, cpu, emu);
            cpuOpt.Step();
            emuOpt.Step();
            AssertSame(cpuOpt, emuOpt, cpu, emu, step, lr, $"Adam wd {weightDecay}");
        }
        // The update is not negligible next to the tolerance: every parameter moved by about lr per step.
        double moved = cpu[2].ToDoubleArray().Zip(start[2], (a, b) => Math.Abs(a - b)).Average();
        Assert.That(moved, Is.GreaterThan(0.5 * lr));
    }

    [TestCase(0.0, 0.0, 0.0, false)]
    [TestCase(0.9, 0.1, 1e-3, false)]
    [TestCase(0.9, 0.0, 1e-3, true)]
    public void SgdOnTheDeviceMatchesTheCpuSgd(double momentum, double dampening, double weightDecay, bool nesterov)
    {
        Start();
        const double lr = 5e-2;
        var rng = new Random(42);
        var (cpu, emu) = Parameters(rng);
        var cpuOpt = new Sgd(cpu, lr, momentum, dampening, weightDecay, nesterov);
        var emuOpt = new Sgd(emu, lr, momentum, dampening, weightDecay, nesterov);
        for (int step = 1; step <= Steps; step++)
        {
            SetGradients(rng, cpu, emu);
            cpuOpt.Step();
            emuOpt.Step();
            AssertSame(cpuOpt, emuOpt, cpu, emu, step, lr, $"SGD μ {momentum} d {dampening} wd {weightDecay} nesterov {nesterov}");
        }
    }

    [Test]
    public void DeviceStateDictIsOnTheHostAndResumesExactly()
    {
        Start();
        const double lr = 1e-2;
        var rng = new Random(43);
        var (_, emu) = Parameters(rng);
        var optimizer = new Adam(emu, lr);
        var cpuTwin = emu.Select(p => p.To(Device.Cpu)).ToArray();
        for (int step = 0; step < 2; step++) { SetGradients(rng, cpuTwin, emu); optimizer.Step(); }
        var saved = optimizer.StateDict();
        Assert.That(saved.Values.All(t => t.Device.IsCpu), "a state dict holds host copies, ready to be written to a checkpoint");

        // A second set of device parameters with the same values, and a fresh optimizer loaded from the saved state.
        var resumed = emu.Select(p => Parameter.From(p.To(Device.Cpu).To(EmuDevice))).ToArray();
        var resumedOpt = new Adam(resumed, lr);
        resumedOpt.LoadStateDict(saved);
        for (int i = 0; i < resumed.Length; i++)
            Assert.That(resumedOpt.State(i, "exp_avg")!.Device, Is.EqualTo(EmuDevice), "loaded state goes to the parameter's device");
        SetGradients(rng, cpuTwin, emu);
        for (int i = 0; i < resumed.Length; i++) resumed[i].Grad = emu[i].Grad!.To(Device.Cpu).To(EmuDevice);
        optimizer.Step();
        resumedOpt.Step();
        // Same kernel, same inputs, same order: bit for bit.
        for (int i = 0; i < emu.Length; i++)
            Assert.That(resumed[i].ToArray<float>(), Is.EqualTo(emu[i].ToArray<float>()), $"parameter {i} after resuming");
    }
}
