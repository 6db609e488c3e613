using Astmt.Engine.IO;
using Astmt.Train.Tests.Support;
using Astmt.Train.Training;

namespace Astmt.Train.Tests;

/// <summary>
/// Exact resume, Ctrl-C, NaN and checkpoint errors, with the <see cref="TinyExperiment"/> test double (weights, momentum,
/// augmentation RNG, DWA history and metric accumulators all cross the checkpoint). The oracle is an uninterrupted run:
/// an interrupted-and-resumed run must reproduce its every step loss bit for bit.
/// </summary>
public sealed class ResumeTests
{
    private TempDir _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDir();

    [TearDown]
    public void TearDown() => _dir.Dispose();

    /// <summary>Runs the CLI, recording every step's (global step, semantic loss, depth loss); <paramref name="stopAfterStep"/>
    /// presses "Ctrl-C" during that step.</summary>
    private static (CliResult Result, List<(long, double, double)> Steps) RunRecording(string[] args, long stopAfterStep = -1)
    {
        var steps = new List<(long, double, double)>();
        using var stop = new CancellationTokenSource();
        var registry = TestRegistry.Create(e => e.OnStep = (batch, losses) =>
        {
            steps.Add((batch.GlobalStep, losses["semantic"], losses["depth"]));
            if (batch.GlobalStep == stopAfterStep) stop.Cancel();
        });
        return (CliRunner.Run(registry, stop.Token, args), steps);
    }

    private static string[] TrainArgs(string run, int epochs) =>
        ["train", "--model", "tiny", "--epochs", epochs.ToString(), "--weighting", "dwa", "--seed", "3", "--out", run, "--prediction-samples", "0"];

    private static Dictionary<string, double[]> FinalTensors(string run)
    {
        var name = File.ReadAllText(Path.Combine(run, "checkpoints", "last")).Trim();
        return SafeTensors.LoadAll(Path.Combine(run, "checkpoints", name + ".safetensors")).ToDictionary(p => p.Key, p => p.Value.ToDoubleArray());
    }

    private static List<string> LossesOf(string run) => MetricsLog.Read(Path.Combine(run, "metrics.jsonl"))
        .Select(r => string.Join(",", r.TrainLoss.Concat(r.EvalLoss).Select(p => p.Value.ToString("R"))) + "|" +
                     string.Join(",", r.TaskWeights!.Select(p => p.Value.ToString("R"))) + "|" +
                     string.Join(",", r.TrainMetrics.SelectMany(m => m.Value.Values).Select(v => v.ToString("R"))))
        .ToList();

    [Test]
    public void InterruptedThenResumed_EqualsAnUninterruptedRun()
    {
        string a = _dir["a"], b = _dir["b"];
        var (full, fullSteps) = RunRecording(TrainArgs(a, 4));
        Assert.That(full.ExitCode, Is.Zero, full.ToString());
        Assert.That(fullSteps, Has.Count.EqualTo(16));

        // Ctrl-C during global step 5 (epoch 2, second batch): the step finishes, then a checkpoint is written.
        var (stopped, firstSteps) = RunRecording(TrainArgs(b, 4), stopAfterStep: 5);
        Assert.That(stopped.ExitCode, Is.EqualTo(ExitCodes.Interrupted), stopped.ToString());
        Assert.That(firstSteps, Has.Count.EqualTo(6), "the step in progress finished; no further step ran");
        Assert.That(stopped.Output, Does.Contain("Interrupted after step 2 of epoch 2").And.Contain($"resume {b}"));
        Assert.That(File.ReadAllText(Path.Combine(b, "checkpoints", "last")).Trim(), Is.EqualTo("interrupt-e0002-s000002"));

        var (resumed, restSteps) = RunRecording(["resume", b]);
        Assert.That(resumed.ExitCode, Is.Zero, resumed.ToString());
        Assert.That(firstSteps.Concat(restSteps).ToList(), Is.EqualTo(fullSteps), "every step loss equals the uninterrupted run's, bit for bit");
        Assert.That(LossesOf(b), Is.EqualTo(LossesOf(a)), "epoch means, DWA weights and train metrics match too");
        var (fa, fb) = (FinalTensors(a), FinalTensors(b));
        Assert.That(fb.Keys, Is.EquivalentTo(fa.Keys));
        foreach (var key in fa.Keys) Assert.That(fb[key], Is.EqualTo(fa[key]), key);
    }

    [Test]
    public void ResumeWithMoreEpochs_FromAnEpochBoundary_EqualsALongerRun()
    {
        string a = _dir["a"], b = _dir["b"];
        var (_, fullSteps) = RunRecording(TrainArgs(a, 3));
        var (first, firstSteps) = RunRecording(TrainArgs(b, 2));
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        var (resumed, restSteps) = RunRecording(["resume", b, "--epochs", "3"]);
        Assert.That(resumed.ExitCode, Is.Zero, resumed.ToString());
        Assert.That(firstSteps.Concat(restSteps).ToList(), Is.EqualTo(fullSteps));
        Assert.That(LossesOf(b), Is.EqualTo(LossesOf(a)));
    }

    [Test]
    public void CrashMidEpoch_ResumesFromTheLastEpochCheckpoint_AndStillEqualsAnUninterruptedRun()
    {
        string a = _dir["a"], b = _dir["b"];
        var (_, fullSteps) = RunRecording(TrainArgs(a, 3));

        // A crash (here an exception inside step 9, in epoch 3) writes nothing: the epoch-2 checkpoint must still be there.
        var steps = new List<(long, double, double)>();
        var crashing = TestRegistry.Create(e => e.OnStep = (batch, losses) =>
        {
            if (batch.GlobalStep == 9) throw new IOException("simulated crash");
            steps.Add((batch.GlobalStep, losses["semantic"], losses["depth"]));
        });
        var crashed = CliRunner.Run(crashing, TrainArgs(b, 3));
        Assert.That(crashed.ExitCode, Is.EqualTo(ExitCodes.InternalError), crashed.ToString());
        Assert.That(File.ReadAllText(Path.Combine(b, "checkpoints", "last")).Trim(), Is.EqualTo("epoch-0002"));

        var (resumed, restSteps) = RunRecording(["resume", b]);
        Assert.That(resumed.ExitCode, Is.Zero, resumed.ToString());
        Assert.That(steps.Take(8).Concat(restSteps).ToList(), Is.EqualTo(fullSteps));
        Assert.That(LossesOf(b), Is.EqualTo(LossesOf(a)));
    }

    [Test]
    public void NaNLoss_StopsWithTheStepAndTask_AndCheckpointsTheLastGoodState()
    {
        string run = _dir["nan"], reference = _dir["ref"];
        var (r, _) = RunRecording([.. TrainArgs(run, 3), "--nan-at-step", "5"]);
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.NonFiniteLoss), r.ToString());
        Assert.That(r.Output, Does.Contain("error: the loss of task 'depth' is NaN at epoch 2, step 1 (global step 5)"));
        string nanCheckpoint = Path.Combine(run, "checkpoints", "nan-e0002-s000001.safetensors");
        Assert.That(r.Output, Does.Contain(nanCheckpoint));

        // The last good state is the one after steps 0..4: the same run stopped by Ctrl-C during step 4 has it.
        var (stopped, _) = RunRecording(TrainArgs(reference, 3), stopAfterStep: 4);
        Assert.That(stopped.ExitCode, Is.EqualTo(ExitCodes.Interrupted));
        var good = SafeTensors.LoadAll(Path.Combine(reference, "checkpoints", "interrupt-e0002-s000001.safetensors"));
        var saved = SafeTensors.LoadAll(nanCheckpoint);
        foreach (var key in new[] { "model.seg.weight", "model.depth.weight", "optim.depth.momentum" })
            Assert.That(saved[key].ToDoubleArray(), Is.EqualTo(good[key].ToDoubleArray()), key);
    }

    [Test]
    public void CorruptCheckpoint_IsReportedWithExitCode2()
    {
        string run = _dir["run"];
        Assert.That(RunRecording(TrainArgs(run, 1)).Result.ExitCode, Is.Zero);
        string file = Path.Combine(run, "checkpoints", "epoch-0001.safetensors");
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
        var r = CliRunner.Run(TestRegistry.Create(), "resume", run, "--epochs", "2");
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        Assert.That(r.Error, Does.StartWith($"error: checkpoint '{file}' is corrupt or unreadable"));
        Assert.That(r.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
    }

    [Test]
    public void MismatchedConfiguration_IsRefused()
    {
        string run = _dir["run"];
        Assert.That(RunRecording(TrainArgs(run, 1)).Result.ExitCode, Is.Zero);
        var r = CliRunner.Run(TestRegistry.Create(), "resume", run, "--epochs", "2", "--seed", "4");
        Assert.That(r.ExitCode, Is.EqualTo(ExitCodes.BadInput), r.ToString());
        Assert.That(r.Error, Does.Contain("was written with configuration hash").And.Contain("only --epochs, --threads and --device may change"));
    }

    [Test]
    public void Resume_OfAFolderThatIsNotARun_SaysWhatIsMissing()
    {
        var missing = CliRunner.Run(TestRegistry.Create(), "resume", _dir["nothing"]);
        Assert.That(missing.ExitCode, Is.EqualTo(ExitCodes.BadInput));
        Assert.That(missing.Error, Does.Contain("does not exist"));

        Directory.CreateDirectory(_dir["empty"]);
        var empty = CliRunner.Run(TestRegistry.Create(), "resume", _dir["empty"]);
        Assert.That(empty.Error, Does.Contain("has no config.yaml"));
    }
}
