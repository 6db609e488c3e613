using Astmt.Engine;
using Astmt.Engine.Cuda;
using Astmt.Engine.Ops;
using Astmt.Kernels.Tests.Support;
using Astmt.Models.Astmt;
using Astmt.Models.Losses;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>
/// Every ASTMT task loss (balanced BCE for edge and saliency, cross-entropy with void for semseg and human parts, masked
/// normalised L1 for normals, L1 + Sobel-gradient L1 for depth) on the emu device against the CPU backend: the weighted loss,
/// its gradient, and its create-graph gradient's own gradient (the double backward the discriminator needs), on an odd
/// 2×C×9×11 map with void pixels.
/// </summary>
[TestFixture(EmulatorSchedule.Forward), TestFixture(EmulatorSchedule.Random), Category("Emulator")]
public class AstmtLossesOnDeviceTests(EmulatorSchedule schedule)
{
    private static readonly Device EmuDevice = new(DeviceKind.Emu);

    private static IEnumerable<AstmtTask> Tasks() =>
        [AstmtTask.Edge, AstmtTask.Saliency, AstmtTask.Semseg(5), AstmtTask.HumanParts(), AstmtTask.Normals, AstmtTask.Depth];

    private static Tensor Truth(AstmtTask task, Random rng, int b, int h, int w)
    {
        int c = task.Kind == AstmtTaskKind.Normals ? 3 : 1;
        var v = new float[b * c * h * w];
        for (int i = 0; i < v.Length; i++)
        {
            int pixel = i % (h * w);
            v[i] = pixel % 7 == 3 ? AstmtLosses.IgnoreLabel : task.Kind switch
            {
                AstmtTaskKind.Edge or AstmtTaskKind.Saliency => rng.Next(3) == 0 ? 1 : (float)(rng.NextDouble() * 0.4),
                AstmtTaskKind.Semseg or AstmtTaskKind.HumanParts => rng.Next(task.OutChannels),
                AstmtTaskKind.Normals => (float)(rng.NextDouble() * 2 - 1),
                _ => (float)(0.5 + rng.NextDouble() * 3),
            };
        }
        return Tensor.FromArray(v, b, c, h, w);
    }

    [TestCaseSource(nameof(Tasks))]
    public void LossGradientAndDoubleBackwardMatchTheCpu(AstmtTask task)
    {
        EmuBackend.Start(schedule);
        var rng = new Random(140 + (int)task.Kind);
        const int B = 2, H = 9, W = 11;
        var truth = Truth(task, rng, B, H, W);
        var prediction = Tensor.FromArray(Array.ConvertAll(Oracle.Normal(rng, B * task.OutChannels * H * W), v => (float)v), B, task.OutChannels, H, W);
        var direction = Tensor.FromArray(Array.ConvertAll(Oracle.Normal(rng, prediction.Numel), v => (float)v), prediction.Shape);

        (double Loss, double[] Grad, double[] Second) Run(Device device)
        {
            var p = device.IsCpu ? prediction.Detach() : prediction.To(device);
            p.RequiresGrad = true;
            var loss = AstmtLosses.Weighted(task, p, device.IsCpu ? truth : truth.To(device), 0.95);
            Assert.That(loss.Device, Is.EqualTo(device), "the loss stays on the device");
            var grad = Astmt.Engine.Autograd.Autograd.Grad([loss], [p], createGraph: true)[0]!;
            // Σ grad·direction: its gradient with respect to p is the Hessian-vector product, what double backprop computes.
            var penalty = F.Sum(F.Mul(grad, device.IsCpu ? direction : direction.To(device)));
            double value = loss.Item();
            var first = grad.ToDoubleArray();
            // Depth's L1 terms are piecewise linear: their gradient holds no graph, and the second derivative is zero.
            var second = penalty.RequiresGrad ? Astmt.Engine.Autograd.Autograd.Grad([penalty], [p])[0] : null;
            var result = (value, first, second?.ToDoubleArray() ?? new double[first.Length]);
            Astmt.Engine.Autograd.Autograd.ReleaseStep();
            return result;
        }

        var cpu = Run(Device.Cpu);
        var emu = Run(EmuDevice);
        Oracle.Close([cpu.Loss], [emu.Loss], 0, 1e-5, $"{task.Name} loss");
        double gradScale = cpu.Grad.Max(Math.Abs), secondScale = cpu.Second.Max(Math.Abs);
        Oracle.Close(cpu.Grad, emu.Grad, 1e-5 * gradScale, 1e-4, $"{task.Name} gradient");
        Oracle.Close(cpu.Second, emu.Second, 1e-5 * secondScale + 1e-12, 1e-3, $"{task.Name} double backward");
    }
}
