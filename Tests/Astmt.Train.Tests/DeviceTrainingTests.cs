using Astmt.Engine;
using Astmt.Engine.Cuda;
using Astmt.Train.Config;
using Astmt.Train.Experiments;
using Astmt.Train.Experiments.Mtan;
using Astmt.Train.Tests.Support;
using Astmt.Train.Training;

namespace Astmt.Train.Tests;

/// <summary>
/// <c>--device</c> in the trainer: MTAN trained on the emulated GPU (the CUDA kernels run by the CPU emulator, Adam's update on
/// the device) against the same training on the CPU; and a clear exit-2 error for <c>--device cuda</c> without a GPU.
/// </summary>
public sealed class DeviceTrainingTests
{
    private static RunConfig Config(string device) => FlagConfig.Resolve(new Dictionary<string, string>
    {
        ["model"] = "mtan-segnet",
        ["device"] = device,
        ["height"] = "32", // the smallest size SegNet takes (five 2x poolings)
        ["width"] = "32",
        ["batch-size"] = "2",
        ["seed"] = "5",
        // Large enough that one Adam step visibly changes the losses, so a wrong or missing device update cannot pass.
        ["lr"] = "0.001",
        ["options.width-multiplier"] = "0.0625",
        ["options.train-samples"] = "2",
        ["options.eval-samples"] = "2",
    });

    /// <summary>Two steps on the same batch [0, 1]: the losses at the initial weights and after one Adam update. (One emulated
    /// step costs about half a minute on two cores, so the test stops there.)</summary>
    /// <param name="device">cpu or emu.</param>
    /// <param name="perturbWeights">Moves every initial weight by one float32 ulp (alternately up and down): the conditioning probe.</param>
    private static double[][] Train(string device, bool perturbWeights = false)
    {
        using var experiment = new MtanExperiment(Config(device));
        if (perturbWeights)
            foreach (var p in experiment.Network.Parameters())
            {
                var values = p.ToArray<float>();
                for (int i = 0; i < values.Length; i++) values[i] = i % 2 == 0 ? MathF.BitIncrement(values[i]) : MathF.BitDecrement(values[i]);
                p.CopyFrom(Tensor.FromArray(values, p.Shape));
            }
        var losses = new double[2][];
        for (int step = 0; step < losses.Length; step++)
        {
            var values = experiment.TrainStep(new TrainBatch([0, 1], 0, step, step, 0));
            losses[step] = [values["semantic"], values["depth"], values["normal"]];
            experiment.ApplyUpdate();
        }
        foreach (var p in experiment.Network.Parameters())
            Assert.That(p.Device.IsCpu, Is.EqualTo(device == "cpu"), $"parameter {p.Describe()} is not on --device {device}");
        return losses;
    }

    [Test, Category("Emulator")]
    public void MtanTrainingOnTheEmulatedGpuGivesTheCpuLosses()
    {
        if (!EmulatorContext.IsAvailable(out var why)) Assert.Ignore($"The kernel emulator is not built: {why}.");
        var cpu = Train("cpu");
        var probe = Train("cpu", perturbWeights: true);
        var emu = Train("emu");
        for (int step = 0; step < cpu.Length; step++)
            for (int t = 0; t < 3; t++)
                TestContext.Out.WriteLine($"step {step} task {t}: cpu {cpu[step][t]:R}, emu {emu[step][t]:R}, cpu with weights moved one ulp {probe[step][t]:R}");

        // At the initial weights, the tolerance comes from the precision: both sides run the same float32 network (unit roundoff
        // u = 2^-24) but sum in different orders (the CPU's blocked SIMD GEMM and pairwise reductions, the kernels' tiles and tree
        // reductions). Worst-case summation error grows like n·u with n ≤ 2^11 terms per reduction here (a 3x3 conv over ≤ 128
        // channels, the 2048 pixels of a loss mean), so a loss may differ by 2^11·u = 2^-13 relative.
        const double rtol = 1.0 / (1 << 13);
        for (int t = 0; t < 3; t++)
            Assert.That(emu[0][t], Is.EqualTo(cpu[0][t]).Within(rtol * Math.Abs(cpu[0][t])), $"loss of task {t} at the initial weights");

        // After the update, the losses inherit the gradients' conditioning, which at 32x32 is poor: the deepest stage is 1x1, so
        // train-mode batch norm there normalizes 2 values per channel, and Adam's first step moves every weight by about
        // lr·sign(g), also where g is zero in exact arithmetic and its float32 sign is noise. The measure of that is the probe:
        // the same CPU training with every initial weight moved by one ulp, i.e. one float32 rounding of the inputs. The emulator,
        // whose differences are also roundings (summation order), must land within 4x the probe's distance (or 2^-13).
        double probeSpread = Enumerable.Range(0, 3).Max(t => Math.Abs(probe[1][t] - cpu[1][t]) / Math.Abs(cpu[1][t]));
        double tolerance = 4 * Math.Max(probeSpread, rtol);
        TestContext.Out.WriteLine($"after the update: probe spread {probeSpread:E2} relative, tolerance {tolerance:E2}");
        for (int t = 0; t < 3; t++)
            Assert.That(emu[1][t], Is.EqualTo(cpu[1][t]).Within(tolerance * Math.Abs(cpu[1][t])), $"loss of task {t} after one Adam update on the device");
        // The update matters: it moves some loss by far more than the tolerance (the same batch is seen twice), so a wrong or
        // missing device update could not pass.
        Assert.That(Enumerable.Range(0, 3).Max(t => Math.Abs(cpu[1][t] - cpu[0][t]) / Math.Abs(cpu[0][t])), Is.GreaterThan(5 * tolerance),
            "the Adam step changed no loss by more than the tolerance");
    }

    [Test]
    public void CudaWithoutAGpu_FailsWithOneClearLineAndExitCode2()
    {
        if (CudaContext.IsAvailable(out _)) Assert.Ignore("This machine has a CUDA driver and device; the no-GPU error cannot be shown here.");
        using var dir = new TempDir();
        var r = CliRunner.Run(ExperimentRegistry.CreateDefault(), "train", "--device", "cuda", "--out", dir["run"]);
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        var lines = r.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Has.Length.EqualTo(1), r.ToString());
        Assert.That(lines[0], Does.Contain("--device cuda").And.Contain("no CUDA driver/device was found").And.Contain("--device cpu").And.Contain("--device emu"));
        Assert.That(Directory.Exists(dir["run"]) && Directory.EnumerateFiles(dir["run"], "*", SearchOption.AllDirectories).Any(), Is.False,
            "nothing is written for a run that cannot start");
    }

    [Test]
    public void AutoDevice_IsCudaWithADriverAndGpu_ElseCpu()
    {
        var expected = CudaContext.IsAvailable(out _) ? DeviceKind.Cuda : DeviceKind.Cpu;
        Assert.That(TrainingDevice.Initialize("auto").Kind, Is.EqualTo(expected));
    }

    [Test]
    public void UnknownDevice_IsRejectedByTheFlag()
    {
        var e = Assert.Throws<ConfigurationException>(() => TrainingDevice.Initialize("tpu"));
        Assert.That(e!.Message, Does.Contain("--device").And.Contain("cpu, cuda or emu"));
    }
}
