using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.IO;
using Astmt.Models.Losses;
using Astmt.Models.Mtan;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

/// <summary>
/// SegNet-MTAN at filters/8 against PyTorch 1.13 (Tools/fixtures/make_mtan_golden.py): weights and non-trivial BN statistics load
/// through the safetensors path; eval-mode outputs, train-mode outputs, the three losses, every parameter gradient of their sum
/// and the running statistics after the train-mode forward must all match.
/// </summary>
public class MtanGoldenTests
{
    private SafeTensorsFile _golden = null!;

    [OneTimeSetUp]
    public void Load() => _golden = SafeTensors.Load(FixturePaths.Get("mtan_golden.safetensors"));

    private MultiTaskNetwork LoadedModel()
    {
        Assert.That(_golden.Metadata["filters"], Is.EqualTo("8,16,32,64,64"));
        var model = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = 0.125, Initialize = false });
        var state = _golden.Keys.Where(k => k.StartsWith("state.", StringComparison.Ordinal))
            .ToDictionary(k => k["state.".Length..], k => _golden.Get(k));
        model.LoadStateDict(state);
        return model;
    }

    private static void AssertClose(Tensor expected, Tensor actual, double atol, double rtol, string what)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), what + ": shape");
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        int worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double ratio = Math.Abs(a[i] - e[i]) / (atol + rtol * Math.Abs(e[i]));
            if (!(ratio <= worstRatio)) { worstRatio = ratio; worst = i; }
        }
        if (worst >= 0 && !(worstRatio <= 1))
            Assert.Fail($"{what}: element {worst} expected {e[worst]:R}, got {a[worst]:R} ({worstRatio:F1}x the tolerance atol {atol:E1} rtol {rtol:E1}).");
    }

    /// <summary>Tolerance scaled to the tensor's magnitude: float32 through ~40 layers accumulates relative error ~1e-5.</summary>
    private static double Scale(Tensor t) => Math.Max(t.ToDoubleArray().Max(Math.Abs), 1e-12);

    [Test]
    public void EvalModeOutputsMatchPyTorch()
    {
        var model = LoadedModel();
        model.Eval();
        using (Autograd.NoGrad())
        {
            var output = model.Forward(_golden.Get("input.x"));
            for (int i = 0; i < 3; i++)
            {
                var expected = _golden.Get($"eval.pred{i}");
                AssertClose(expected, output.Predictions[i], 2e-5 * Scale(expected), 1e-4, $"eval.pred{i}");
            }
        }
    }

    [Test]
    public void TrainModeOutputsLossesGradientsAndRunningStatsMatchPyTorch()
    {
        var model = LoadedModel();
        model.Train();
        var output = model.Forward(_golden.Get("input.x"));
        for (int i = 0; i < 3; i++)
        {
            var expected = _golden.Get($"train.pred{i}");
            AssertClose(expected, output.Predictions[i], 2e-5 * Scale(expected), 1e-4, $"train.pred{i}");
        }
        var losses = new[]
        {
            MtanLosses.Semantic(output.Predictions[0], _golden.Get("input.label")),
            MtanLosses.Depth(output.Predictions[1], _golden.Get("input.depth")),
            MtanLosses.Normal(output.Predictions[2], _golden.Get("input.normal")),
        };
        string[] names = ["semantic", "depth", "normal"];
        for (int i = 0; i < 3; i++)
        {
            double expected = _golden.Get("loss." + names[i]).Item();
            Assert.That(losses[i].Item(), Is.EqualTo(expected).Within(1e-6 + 1e-5 * Math.Abs(expected)), "loss." + names[i]);
        }

        Engine.Ops.F.Add(Engine.Ops.F.Add(losses[0], losses[1]), losses[2]).Backward();
        int compared = 0;
        foreach (var (name, parameter) in model.NamedParameters())
        {
            var expected = _golden.Get("grad." + name);
            var grad = parameter.Grad ?? Tensor.Zeros(parameter.Shape);
            AssertClose(expected, grad, 1e-4 * Scale(expected), 2e-3, "grad." + name);
            compared++;
        }
        Assert.That(compared, Is.EqualTo(_golden.Keys.Count(k => k.StartsWith("grad.", StringComparison.Ordinal))));

        var state = model.StateDict();
        int stats = 0;
        foreach (var key in _golden.Keys.Where(k => k.StartsWith("after.", StringComparison.Ordinal)))
        {
            var expected = _golden.Get(key);
            AssertClose(expected, state[key["after.".Length..]], 1e-6 * Scale(expected), 1e-5, key);
            stats++;
        }
        Assert.That(stats, Is.EqualTo(192));
        Assert.That(state["encoder_block.0.1.num_batches_tracked"].Item(), Is.EqualTo(6), "5 from the fixture plus one training forward");
    }
}
