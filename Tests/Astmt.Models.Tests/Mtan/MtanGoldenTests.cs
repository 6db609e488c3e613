using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.IO;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;
using Astmt.Models.Losses;
using Astmt.Models.Mtan;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

/// <summary>
/// SegNet-MTAN against PyTorch 1.13 goldens: weights and non-trivial BN statistics load through the safetensors path; eval-mode
/// outputs, train-mode outputs, the three losses, every parameter gradient of their sum and the running statistics after the
/// train-mode forward must match.
/// </summary>
/// <remarks>
/// Two fixtures. <c>mtan_golden.safetensors</c> (Tools/fixtures/make_mtan_golden.py): filters/8, 32x64, float32, as issue 5 asks.
/// Its train-mode gradients are ill-conditioned (batch norm over 4 to 16 values per channel in the deep stages), so PyTorch's own
/// float32 gradients differ from its float64 ones by up to 7% in relative L2 on the normal task's attention layers; float32
/// gradients are therefore compared in relative L2 with a 15% bound, and everything else elementwise.
/// <c>mtan_golden_f64.safetensors</c> (make_mtan_golden_f64.py): filters/32, 32x32, the same recipe run in float64 on both sides,
/// which allows a tight elementwise comparison of everything.
/// </remarks>
public class MtanGoldenTests
{
    /// <summary>One fixture and the tolerances its precision supports.</summary>
    public sealed record Golden(string File, double Width, DType DType, double PredictionTolerance, double TrainPredictionTolerance,
        double GradientTolerance, double GradientRelativeL2, double StatisticTolerance)
    {
        public override string ToString() => File;
    }

    public static readonly Golden[] Goldens =
    [
        new("mtan_golden.safetensors", 0.125, DType.Float32, 2e-5, 1e-3, double.NaN, 0.15, 1e-5),
        new("mtan_golden_f64.safetensors", 1.0 / 32, DType.Float64, 1e-10, 1e-9, 1e-8, double.NaN, 1e-10),
    ];

    private static readonly Dictionary<string, SafeTensorsFile> Files = [];

    private static SafeTensorsFile Open(Golden g)
    {
        lock (Files)
        {
            if (!Files.TryGetValue(g.File, out var f)) Files[g.File] = f = SafeTensors.Load(FixturePaths.Get(g.File));
            return f;
        }
    }

    private static Tensor Get(SafeTensorsFile file, string key, DType dtype)
    {
        var t = file.Get(key);
        return t.DType == dtype || !t.DType.IsFloating() ? t : t.To(dtype);
    }

    private static MultiTaskNetwork LoadedModel(Golden g, SafeTensorsFile file)
    {
        var model = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = g.Width, Initialize = false });
        Assert.That(((MtanSegNet)model).Filters, Is.EqualTo(file.Metadata["filters"].Split(',').Select(int.Parse)));
        model.To(g.DType);
        model.LoadSafeTensors(FixturePaths.Get(g.File), strict: true, prefix: "state.");
        return model;
    }

    /// <summary>Largest magnitude of a tensor (the scale its absolute tolerance is relative to).</summary>
    private static double Scale(double[] v) => Math.Max(v.Max(Math.Abs), 1e-30);

    /// <summary>|actual − expected| ≤ tolerance·(scale + |expected|) everywhere, reporting the worst element.</summary>
    private static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what, double? scale = null)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), what + ": shape");
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        double s = scale ?? Scale(e);
        int worst = -1;
        double worstRatio = 0;
        for (int i = 0; i < e.Length; i++)
        {
            double ratio = Math.Abs(a[i] - e[i]) / (tolerance * (s + Math.Abs(e[i])));
            if (!(ratio <= worstRatio)) { worstRatio = ratio; worst = i; }
        }
        if (worst >= 0 && !(worstRatio <= 1))
            Assert.Fail($"{what}: element {worst} expected {e[worst]:R}, got {a[worst]:R}: {worstRatio:F1}x the tolerance {tolerance:E1} at scale {s:E2}.");
    }

    /// <summary>‖actual − expected‖₂ ≤ bound·‖expected‖₂.</summary>
    private static double AssertRelativeL2(Tensor expected, Tensor actual, double bound, string what)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), what + ": shape");
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        double diff = 0, norm = 0;
        for (int i = 0; i < e.Length; i++) { diff += (a[i] - e[i]) * (a[i] - e[i]); norm += e[i] * e[i]; }
        Assert.That(Math.Sqrt(diff), Is.LessThanOrEqualTo(bound * Math.Sqrt(norm)), $"{what}: relative L2 error {Math.Sqrt(diff / norm):E2}");
        return diff == 0 ? 0 : Math.Sqrt(diff / norm);
    }

    /// <summary>A conv bias followed by batch norm has a zero true gradient (BN removes the channel mean); only rounding remains.</summary>
    private static bool IsBiasBeforeBatchNorm(string name) =>
        !name.StartsWith("pred_task", StringComparison.Ordinal) && (name.EndsWith(".0.bias", StringComparison.Ordinal) || name.EndsWith(".3.bias", StringComparison.Ordinal));

    [TestCaseSource(nameof(Goldens))]
    public void EvalModeOutputsMatchPyTorch(Golden g)
    {
        var file = Open(g);
        var model = LoadedModel(g, file);
        model.Eval();
        using (Autograd.NoGrad())
        {
            var output = model.Forward(Get(file, "input.x", g.DType));
            for (int i = 0; i < 3; i++)
                AssertClose(file.Get($"eval.pred{i}"), output.Predictions[i], g.PredictionTolerance, $"eval.pred{i}");
        }
        Assert.That(model.StateDict()["encoder_block.0.1.num_batches_tracked"].Item(), Is.EqualTo(5), "eval mode leaves the counters alone");
    }

    [TestCaseSource(nameof(Goldens))]
    public void TrainModeOutputsLossesGradientsAndRunningStatsMatchPyTorch(Golden g)
    {
        var file = Open(g);
        var model = LoadedModel(g, file);
        model.Train();
        var output = model.Forward(Get(file, "input.x", g.DType));
        for (int i = 0; i < 3; i++)
            AssertClose(file.Get($"train.pred{i}"), output.Predictions[i], g.TrainPredictionTolerance, $"train.pred{i}");

        var losses = new[]
        {
            MtanLosses.Semantic(output.Predictions[0], file.Get("input.label")),
            MtanLosses.Depth(output.Predictions[1], Get(file, "input.depth", g.DType)),
            MtanLosses.Normal(output.Predictions[2], Get(file, "input.normal", g.DType)),
        };
        string[] names = ["semantic", "depth", "normal"];
        for (int i = 0; i < 3; i++)
        {
            double expected = file.Get("loss." + names[i]).Item();
            Assert.That(losses[i].Item(), Is.EqualTo(expected).Within(g.TrainPredictionTolerance * 0.1 * Math.Abs(expected)), "loss." + names[i]);
        }

        F.Add(F.Add(losses[0], losses[1]), losses[2]).Backward();
        var gradients = model.NamedParameters().ToList();
        double worstRelativeL2 = 0;
        double globalScale = gradients.Max(p => Scale(file.Get("grad." + p.Name).ToDoubleArray()));
        foreach (var (name, parameter) in gradients)
        {
            var expected = file.Get("grad." + name);
            var grad = parameter.Grad ?? Tensor.Zeros(parameter.Shape, g.DType);
            if (IsBiasBeforeBatchNorm(name))
                AssertClose(expected, grad, g.DType == DType.Float64 ? 1e-12 : 1e-5, "grad." + name, globalScale);
            else if (g.DType == DType.Float64)
                AssertClose(expected, grad, g.GradientTolerance, "grad." + name);
            else
                worstRelativeL2 = Math.Max(worstRelativeL2, AssertRelativeL2(expected, grad, g.GradientRelativeL2, "grad." + name));
        }
        if (g.DType == DType.Float32) TestContext.Out.WriteLine($"worst relative L2 gradient error: {worstRelativeL2:E2}");
        Assert.That(gradients.Count, Is.EqualTo(file.Keys.Count(k => k.StartsWith("grad.", StringComparison.Ordinal))));
        Assert.That(model.LogSigma!.Grad, Is.Null, "equal weighting does not touch logsigma");

        var state = model.StateDict();
        int stats = 0;
        foreach (var key in file.Keys.Where(k => k.StartsWith("after.", StringComparison.Ordinal)))
        {
            AssertClose(file.Get(key), state[key["after.".Length..]], g.StatisticTolerance, key);
            stats++;
        }
        Assert.That(stats, Is.EqualTo(192));
        Assert.That(state["encoder_block.0.1.num_batches_tracked"].Item(), Is.EqualTo(6), "5 from the fixture plus one training forward");
    }
}
