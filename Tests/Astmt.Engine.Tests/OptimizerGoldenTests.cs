using System.Text.Json;
using Astmt.Engine;
using Astmt.Engine.IO;
using Astmt.Engine.Optim;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests;

/// <summary>Parameter trajectories, learning rates and final state against PyTorch 1.13 (Tools/fixtures/make_optimizer_golden.py).</summary>
public class OptimizerGoldenTests
{
    private static SafeTensorsFile? _golden;
    private static SafeTensorsFile Golden => _golden ??= SafeTensors.Load(Fixtures.Path("optimizer_golden.safetensors"));

    private static readonly string[] Cases =
    [
        "sgd_plain", "sgd_wd", "sgd_momentum", "sgd_dampening", "sgd_nesterov_wd", "sgd_groups_skip",
        "adam", "adam_wd", "adam_groups_skip", "sgd_steplr", "adam_polylr",
    ];

    [TestCaseSource(nameof(Cases))]
    public void TrajectoryMatchesPyTorch(string name)
    {
        var golden = Golden;
        int steps = int.Parse(golden.Metadata["steps"]);
        using var settings = JsonDocument.Parse(golden.Metadata[$"case.{name}"]);
        var c = settings.RootElement;

        var w = golden.Get("init.w");
        var b = golden.Get("init.b");
        w.RequiresGrad = true;
        b.RequiresGrad = true;
        var groupSettings = c.TryGetProperty("groups", out var gs) ? gs.EnumerateArray().ToArray() : [];
        ParamGroup Group(Tensor p, string pname, int g) => new(
            [new KeyValuePair<string, Tensor>(pname, p)],
            learningRate: g < groupSettings.Length && groupSettings[g].TryGetProperty("lr", out var lr) ? lr.GetDouble() : null,
            weightDecay: g < groupSettings.Length && groupSettings[g].TryGetProperty("weight_decay", out var wd) ? wd.GetDouble() : null);
        ParamGroup[] groups = [Group(w, "w", 0), Group(b, "b", 1)];
        double Setting(string key, double fallback) => c.TryGetProperty(key, out var v) ? v.GetDouble() : fallback;

        Optimizer opt = c.GetProperty("opt").GetString() == "sgd"
            ? new Sgd(groups, Setting("lr", double.NaN), Setting("momentum", 0), Setting("dampening", 0), Setting("weight_decay", 0),
                c.TryGetProperty("nesterov", out var nest) && nest.GetBoolean())
            : new Adam(groups, Setting("lr", double.NaN),
                c.TryGetProperty("betas", out var betas) ? betas[0].GetDouble() : 0.9,
                c.TryGetProperty("betas", out betas) ? betas[1].GetDouble() : 0.999,
                Setting("eps", 1e-8), Setting("weight_decay", 0));
        LrScheduler? scheduler = c.TryGetProperty("sched", out var sched)
            ? sched.GetString() == "step"
                ? new StepLR(opt, c.GetProperty("step_size").GetInt32(), c.GetProperty("gamma").GetDouble())
                : new PolyLR(opt, c.GetProperty("total_iters").GetInt32(), c.GetProperty("power").GetDouble())
            : null;
        var skip = c.TryGetProperty("skip", out var sk) ? sk.EnumerateArray().Select(x => x.GetInt32()).ToHashSet() : [];

        for (int t = 0; t < steps; t++)
        {
            opt.ZeroGrad(setToNone: true);
            w.Grad = golden.Get($"grad.{t}.w");
            if (!skip.Contains(t)) b.Grad = golden.Get($"grad.{t}.b");
            for (int g = 0; g < 2; g++)
                Assert.That(opt.ParamGroups[g].LearningRate, Is.EqualTo(golden.Get($"{name}.lr{t}.group{g}").Item()).Within(1e-12).Percent,
                    $"{name}: learning rate of group {g} at step {t}");
            opt.Step();
            scheduler?.Step();
            Numeric.AssertClose(golden.Get($"{name}.step{t}.w"), w, 1e-6, 1e-5, $"{name}: w after step {t}");
            Numeric.AssertClose(golden.Get($"{name}.step{t}.b"), b, 1e-6, 1e-5, $"{name}: b after step {t}");
        }

        var prefix = $"{name}.optimizer.";
        var ours = opt.StateDict(prefix);
        var expectedKeys = golden.Keys.Where(k => k.StartsWith(prefix + "state.", StringComparison.Ordinal)).ToArray();
        Assert.That(ours.Keys.Where(k => k.StartsWith(prefix + "state.", StringComparison.Ordinal)), Is.EquivalentTo(expectedKeys),
            $"{name}: state keys as PyTorch's state_dict names them");
        // Buffers sum gradients of magnitude ~5 into values that can cancel to ~1e-2: float32 rounding of the terms sets atol.
        // st_write.py stores 0-d tensors (the step counts) as [1], so values are compared flat.
        foreach (var key in expectedKeys)
        {
            var expected = golden.Get(key);
            Assert.That(ours[key].Numel, Is.EqualTo(expected.Numel), key);
            Numeric.AssertClose(expected.ToDoubleArray(), ours[key].ToDoubleArray(), 1e-6, 1e-5, key);
        }
    }
}
