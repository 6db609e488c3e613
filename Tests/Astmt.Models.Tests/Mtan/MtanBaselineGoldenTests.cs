using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.IO;
using Astmt.Engine.Ops;
using Astmt.Models.Losses;
using Astmt.Models.Mtan;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

/// <summary>
/// The baselines against PyTorch in float64 (Tools/fixtures/make_mtan_baselines_golden.py, filters/32, 32x32, batch 2): weights
/// come from a closed-form fill of the state dict in order (so the fill also checks the order), then eval and train predictions,
/// the losses and, per parameter, the norm and sum of its gradient must match.
/// </summary>
public class MtanBaselineGoldenTests
{
    private static readonly Lazy<SafeTensorsFile> File = new(() => SafeTensors.Load(FixturePaths.Get("mtan_baselines_golden.safetensors")));

    private static readonly Dictionary<string, MtanTask> SingleTask = new() { ["segnet-single"] = MtanTask.Normal, ["stan"] = MtanTask.Depth };

    public static readonly string[] Models = ["segnet-single", "stan", "segnet-split", "segnet-split-wide", "segnet-split-deep", "segnet-dense", "segnet-cross-stitch"];

    /// <summary>The fixture script's <c>deterministic_state</c>: entry j, element i.</summary>
    private static void FillDeterministic(MultiTaskNetwork model)
    {
        int j = 0;
        foreach (var (key, t) in model.StateDict())
        {
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) { t.FillInPlace(5); j++; continue; }
            var v = t.Span<double>();
            Func<int, double> f;
            if (key.EndsWith("running_var", StringComparison.Ordinal)) f = i => 1 + 0.5 * Math.Sin(0.7 * i + j);
            else if (key.EndsWith("running_mean", StringComparison.Ordinal)) f = i => 0.2 * Math.Sin(1.3 * i + j);
            else if (key.EndsWith("logsigma", StringComparison.Ordinal)) f = i => -0.5 + 0.1 * Math.Sin(i + j);
            else if (key.StartsWith("cs_unit", StringComparison.Ordinal)) f = i => 1 + 0.2 * Math.Sin(1.9 * i + j);
            else if (t.Rank == 4)
            {
                int receptive = t.Shape[2] * t.Shape[3];
                double std = Math.Sqrt(2.0 / (t.Shape[1] * receptive + t.Shape[0] * receptive));
                f = i => std * Math.Sqrt(2.0) * Math.Sin(2.3 * i + 0.7 * j);
            }
            else if (key.EndsWith("weight", StringComparison.Ordinal)) f = i => 1 + 0.3 * Math.Sin(0.9 * i + j);
            else f = i => 0.1 * Math.Sin(1.1 * i + j);
            for (int i = 0; i < v.Length; i++) v[i] = f(i);
            j++;
        }
    }

    private static MultiTaskNetwork Build(string name)
    {
        var options = new MtanModelOptions { Width = 1.0 / 32, Initialize = false, SingleTask = SingleTask.GetValueOrDefault(name) };
        var model = MtanModels.Create(name, options);
        model.To(DType.Float64);
        FillDeterministic(model);
        return model;
    }

    /// <summary>Predictions are stored rounded to float32, so compare to float32 precision of the tensor's scale.</summary>
    private static void AssertPredictions(Tensor expected, Tensor actual, string what)
    {
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), what + ": shape");
        var e = expected.ToDoubleArray();
        var a = actual.ToDoubleArray();
        double scale = e.Max(Math.Abs);
        for (int i = 0; i < e.Length; i++)
            if (!(Math.Abs(a[i] - e[i]) <= 1e-6 * (scale + Math.Abs(e[i]))))
                Assert.Fail($"{what}: element {i} expected {e[i]:R}, got {a[i]:R} (scale {scale:E2}).");
    }

    [TestCaseSource(nameof(Models))]
    public void EvalAndTrainMatchPyTorch(string name)
    {
        var file = File.Value;
        var model = Build(name);
        var x = file.Get("input.x");
        model.Eval();
        using (Autograd.NoGrad())
        {
            var eval = model.Forward(x);
            for (int i = 0; i < eval.Predictions.Count; i++) AssertPredictions(file.Get($"{name}.eval.pred{i}"), eval.Predictions[i], $"{name} eval.pred{i}");
        }

        model.Train();
        var output = model.Forward(x);
        Assert.That(output.Predictions, Has.Count.EqualTo(model.Tasks.Count));
        for (int i = 0; i < output.Predictions.Count; i++) AssertPredictions(file.Get($"{name}.train.pred{i}"), output.Predictions[i], $"{name} train.pred{i}");

        var ground = new Dictionary<MtanTask, Tensor>
        {
            [MtanTask.Semantic] = file.Get("input.label"), [MtanTask.Depth] = file.Get("input.depth"), [MtanTask.Normal] = file.Get("input.normal"),
        };
        var losses = model.Tasks.Select((t, i) => MtanLosses.For(t, output.Predictions[i], ground[t])).ToArray();
        var expectedLosses = file.Get($"{name}.losses").ToDoubleArray();
        Assert.That(losses.Select(l => l.Item()), Is.EqualTo(expectedLosses).Within(1e-10));

        var total = losses[0];
        for (int i = 1; i < losses.Length; i++) total = F.Add(total, losses[i]);
        total.Backward();

        var names = file.Metadata[$"{name}.params"].Split(',');
        var parameters = model.NamedParameters().ToList();
        Assert.That(parameters.Select(p => p.Name), Is.EqualTo(names), "parameter names and order");
        var norms = file.Get($"{name}.grad_norm").ToDoubleArray();
        var sums = file.Get($"{name}.grad_sum").ToDoubleArray();
        double normScale = norms.Max();
        for (int k = 0; k < parameters.Count; k++)
        {
            var g = parameters[k].Parameter.Grad?.ToDoubleArray() ?? new double[parameters[k].Parameter.Numel];
            double norm = Math.Sqrt(g.Sum(v => v * v)), sum = g.Sum();
            Assert.That(norm, Is.EqualTo(norms[k]).Within(1e-9 * normScale + 1e-8 * norms[k]), $"{names[k]}: gradient norm");
            Assert.That(sum, Is.EqualTo(sums[k]).Within(1e-9 * normScale * Math.Sqrt(g.Length) + 1e-8 * Math.Abs(sums[k])), $"{names[k]}: gradient sum");
        }
    }
}
