using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Models.Weighting;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

public class WeightingTests
{
    private static Tensor Scalar(double v, bool grad = false)
    {
        var t = Tensor.Scalar(v);
        t.RequiresGrad = grad;
        return t;
    }

    [Test]
    public void DwaMatchesAFloat64HandComputation()
    {
        var dwa = new DynamicWeightAverage(3, temperature: 2.0);
        // Per-batch task losses; each epoch's mean is the plain average over its batches (the last batch counts as much as the others).
        double[][][] epochs =
        [
            [[2.0, 1.0, 0.50], [1.6, 0.8, 0.40], [1.2, 0.9, 0.45]],
            [[1.5, 0.7, 0.42], [1.3, 0.9, 0.38]],
            [[1.0, 0.6, 0.40]],
        ];
        var seen = new List<double[]>();
        for (int e = 0; e < epochs.Length; e++)
        {
            dwa.BeginEpoch(e);
            seen.Add(dwa.Weights.ToArray());
            foreach (var batch in epochs[e]) dwa.EndBatch(batch);
            dwa.EndEpoch();
        }
        Assert.That(seen[0], Is.EqualTo(new[] { 1.0, 1.0, 1.0 }));
        Assert.That(seen[1], Is.EqualTo(new[] { 1.0, 1.0, 1.0 }));

        // Epoch 2: means of epoch 1 over epoch 0.
        double m0a = (2.0 + 1.6 + 1.2) / 3, m0b = (1.0 + 0.8 + 0.9) / 3, m0c = (0.50 + 0.40 + 0.45) / 3;
        double m1a = (1.5 + 1.3) / 2, m1b = (0.7 + 0.9) / 2, m1c = (0.42 + 0.38) / 2;
        double ea = Math.Exp(m1a / m0a / 2), eb = Math.Exp(m1b / m0b / 2), ec = Math.Exp(m1c / m0c / 2);
        double[] expected2 = [3 * ea / (ea + eb + ec), 3 * eb / (ea + eb + ec), 3 * ec / (ea + eb + ec)];
        Assert.That(seen[2], Is.EqualTo(expected2).Within(1e-12));
        Assert.That(seen[2].Sum(), Is.EqualTo(3.0).Within(1e-12));

        // Epoch 3: epoch 2 over epoch 1.
        dwa.BeginEpoch(3);
        double fa = Math.Exp(1.0 / m1a / 2), fb = Math.Exp(0.6 / m1b / 2), fc = Math.Exp(0.40 / m1c / 2);
        Assert.That(dwa.Weights, Is.EqualTo(new[] { 3 * fa / (fa + fb + fc), 3 * fb / (fa + fb + fc), 3 * fc / (fa + fb + fc) }).Within(1e-12));

        var total = dwa.Combine([Scalar(0.5), Scalar(2.0), Scalar(4.0)]).Item();
        Assert.That(total, Is.EqualTo(0.5 * dwa.Weights[0] + 2.0 * dwa.Weights[1] + 4.0 * dwa.Weights[2]).Within(1e-5));
    }

    [Test]
    public void DwaNeedsTheHistoryItUses()
    {
        var dwa = new DynamicWeightAverage(2);
        dwa.BeginEpoch(0);
        dwa.EndBatch([1.0, 1.0]);
        dwa.EndEpoch();
        Assert.That(() => dwa.BeginEpoch(2), Throws.InvalidOperationException.With.Message.Contains("only 1 epochs were recorded"));
        Assert.That(() => dwa.EndBatch([1.0]), Throws.ArgumentException.With.Message.Contains("expected 2 task losses"));
    }

    [Test]
    public void EqualWeightingSumsTheLosses()
    {
        var w = TaskWeightings.Create("equal", 3);
        Assert.That(w.Combine([Scalar(0.25), Scalar(1.5), Scalar(-0.5)]).Item(), Is.EqualTo(1.25).Within(1e-6));
        Assert.That(w.Weights, Is.EqualTo(new[] { 1.0, 1.0, 1.0 }));
    }

    [Test]
    public void UncertaintyWeightingMatchesKendallsFormulaAndGradient()
    {
        var logSigma = Parameter.From(Tensor.FromArray(new[] { -0.5f, 0.3f }, 2));
        var w = new UncertaintyWeighting(2, logSigma);
        Assert.That(w.Parameters, Is.Empty, "the model owns its logsigma");
        var l0 = Scalar(1.7, grad: true);
        var l1 = Scalar(0.4, grad: true);
        var total = w.Combine([l0, l1]);
        double s0 = -0.5, s1 = 0.3;
        Assert.That(total.Item(), Is.EqualTo(1.7 / (2 * Math.Exp(s0)) + s0 / 2 + 0.4 / (2 * Math.Exp(s1)) + s1 / 2).Within(1e-5));
        total.Backward();
        Assert.That(logSigma.Grad!.ToDoubleArray(), Is.EqualTo(new[] { -1.7 / (2 * Math.Exp(s0)) + 0.5, -0.4 / (2 * Math.Exp(s1)) + 0.5 }).Within(1e-5));
        Assert.That(l0.Grad!.Item(), Is.EqualTo(1 / (2 * Math.Exp(s0))).Within(1e-6));
        Assert.That(w.Weights[1], Is.EqualTo(0.5 * Math.Exp(-0.3)).Within(1e-6));
    }

    [Test]
    public void UncertaintyWeightingCreatesItsOwnLogSigmaAtMinusHalf()
    {
        var w = (UncertaintyWeighting)TaskWeightings.Create("uncert", 3);
        Assert.That(w.LogSigma.ToDoubleArray(), Is.EqualTo(new[] { -0.5, -0.5, -0.5 }));
        Assert.That(w.Parameters, Has.Count.EqualTo(1));
        Assert.That(() => TaskWeightings.Create("gradnorm", 3), Throws.ArgumentException.With.Message.Contains("equal, dwa, uncert"));
    }
}
