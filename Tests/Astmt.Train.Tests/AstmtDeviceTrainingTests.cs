using Astmt.Engine;
using Astmt.Engine.Cuda;
using Astmt.Train.Config;
using Astmt.Train.Experiments;
using Astmt.Train.Experiments.AstmtModels;
using Astmt.Train.Tests.Support;
using Astmt.Train.Training;

namespace Astmt.Train.Tests;

/// <summary>
/// <c>--device</c> for ASTMT in the trainer: one training batch on the emulated GPU (per-task SGD steps with the adversarial
/// discriminator) against the same batch on the CPU, a checkpoint captured from the device and loaded into a CPU run, and
/// evaluation predictions computed on the device; plus the clear error for <c>--device cuda</c> without a GPU.
/// </summary>
public sealed class AstmtDeviceTrainingTests
{
    /// <summary>The smallest network the trainer builds (R-26 at encoder widths / 16, decoder width 32), two tasks, 32×32, batch 2.</summary>
    private static RunConfig Config(string device) => FlagConfig.Resolve(new Dictionary<string, string>
    {
        ["model"] = "astmt-r26",
        ["device"] = device,
        ["height"] = "32",
        ["width"] = "32",
        ["batch-size"] = "2",
        ["seed"] = "5",
        ["lr"] = "0.01",
        [$"options.{AstmtOptions.TasksName}"] = "semseg,normals",
        [$"options.{AstmtOptions.WidthDivisorName}"] = "16",
        [$"options.{AstmtOptions.DecoderWidthName}"] = "32",
        [$"options.{AstmtOptions.SeEncoderName}"] = "true",
        [$"options.{AstmtOptions.SeDecoderName}"] = "true",
        [$"options.{AstmtOptions.AdaptersName}"] = "true",
        [$"options.{AstmtOptions.AdversarialName}"] = "true",
        [$"options.{AstmtOptions.TrainSamplesName}"] = "2",
        [$"options.{AstmtOptions.EvalSamplesName}"] = "2",
    });

    [Test, Category("Emulator")]
    public void OneBatchOnTheEmulatedGpu_GivesTheCpuLosses_CheckpointsToTheHost_AndEvaluatesOnTheDevice()
    {
        if (!EmulatorContext.IsAvailable(out var why)) Assert.Ignore($"The kernel emulator is not built: {why}.");
        using var cpu = new AstmtExperiment(Config("cpu"));
        using var emu = new AstmtExperiment(Config("emu"));
        Assert.That(emu.Device.Kind, Is.EqualTo(DeviceKind.Emu));
        Assert.That(emu.Network.Parameters().All(p => p.Device == emu.Device), Is.True, "the network lives on --device");

        // One batch: semseg's step at the initial weights, then normals' after semseg's SGD step (the reference's per-task mode).
        var batch = new TrainBatch([0, 1], 0, 0, 0, 0);
        var cpuLosses = cpu.TrainStep(batch);
        var emuLosses = emu.TrainStep(batch);
        emu.ApplyUpdate();
        cpu.ApplyUpdate();
        foreach (var task in new[] { "semseg", "normals" })
        {
            TestContext.Out.WriteLine($"{task}: cpu {cpuLosses[task]:R}, emu {emuLosses[task]:R}");
            // The same float32 network summed in different orders (the CPU's blocked GEMM and pairwise sums, the kernels' tiles
            // and tree reductions): up to 2^11 terms per reduction here, so 2^-13 relative (as DeviceTrainingTests). Observed:
            // 1e-7 for semseg at the initial weights, 3e-6 for normals after semseg's SGD step.
            Assert.That(emuLosses[task], Is.EqualTo(cpuLosses[task]).Within(Math.Abs(cpuLosses[task]) / (1 << 13)), $"{task} loss");
        }
        var meters = emu.TakeTrainMetrics();
        Assert.That(meters, Is.Not.Empty, "the discriminator's statistics are collected on the device too");
        Assert.That(emu.Network.Parameters().All(p => p.Device == emu.Device), Is.True, "the step left the network on the device");

        // A checkpoint captured on the device is a host state that a CPU run loads exactly.
        var state = emu.CaptureState();
        Assert.That(state.Tensors.Values.All(t => t.Device.IsCpu), Is.True, "checkpoint tensors are host copies");
        using var restored = new AstmtExperiment(Config("cpu"));
        restored.LoadState(state, weightsOnly: false);
        var restoredWeights = restored.Network.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToArray<float>());
        foreach (var (name, p) in emu.Network.NamedParameters())
            Assert.That(restoredWeights[name], Is.EqualTo(p.ToArray<float>()), $"{name} after the round trip through the checkpoint");
        // And back onto the device: a fresh emu run loads the same state (weights and momentum) without leaving the device.
        using var resumed = new AstmtExperiment(Config("emu"));
        resumed.LoadState(state, weightsOnly: false);
        Assert.That(resumed.Network.Parameters().All(p => p.Device == resumed.Device), Is.True, "loaded weights stay on the device");
        Assert.That(resumed.Network.NamedParameters().All(p => restoredWeights[p.Name].SequenceEqual(p.Parameter.ToArray<float>())), Is.True);

        // Evaluation on the device: host predictions equal to the CPU run's on the same (restored) weights.
        using var evalBatch = restored.Data.EvalBatch([0, 1]);
        var onCpu = restored.PredictEval(evalBatch.Images);
        var onEmu = emu.PredictEval(evalBatch.Images);
        foreach (var (task, expected) in onCpu)
        {
            Assert.That(onEmu[task].Device.IsCpu, Is.True, "predictions come back to the host");
            var e = expected.ToArray<float>();
            var a = onEmu[task].ToArray<float>();
            double diff = 0, norm = 0;
            for (int i = 0; i < e.Length; i++) { diff += (a[i] - e[i]) * (double)(a[i] - e[i]); norm += e[i] * (double)e[i]; }
            TestContext.Out.WriteLine($"eval {task}: relative L2 {Math.Sqrt(diff / norm):E2}");
            Assert.That(Math.Sqrt(diff / norm), Is.LessThan(1e-4), $"eval prediction of {task}");
        }
    }

    [Test]
    public void CudaWithoutAGpu_FailsWithOneClearLine()
    {
        if (CudaContext.IsAvailable(out _)) Assert.Ignore("This machine has a CUDA driver and device; the no-GPU error cannot be shown here.");
        using var dir = new TempDir();
        var r = CliRunner.Run(ExperimentRegistry.CreateDefault(), "train", "--model", "astmt-r26", "--device", "cuda", "--out", dir["run"]);
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        Assert.That(r.Error, Does.Contain("--device cuda").And.Contain("no CUDA driver/device was found").And.Contain("--device emu"));
    }
}
