using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Models.Astmt;

namespace Astmt.Train.Tests;

/// <summary>
/// The two meanings of <c>--task-step</c>, checked against SGD written out by hand on a twin network: per-task steps (each task's
/// gradient taken at the weights the previous task left, momentum carried, parameters outside the task's graph untouched, no decay
/// for them) and a summed step (every task's gradient at the same weights, added here in float64, one step). The oracle reads each
/// task's gradients after its own backward and updates plain arrays, so it shares neither the optimizer nor gradient accumulation
/// with the code under test.
/// </summary>
public sealed class AstmtStepModeTests
{
    private const double Lr = 0.001, WeightDecay = 1e-4, Momentum = 0.9, Alpha = 0.5;

    private static AstmtConfig Tiny(bool adversarial = true) => new()
    {
        Dataset = AstmtDataset.Synthetic,
        Tasks = [AstmtTask.Edge, AstmtTask.Semseg(5), AstmtTask.Normals],
        CustomBlocks = [1, 1, 1, 1],
        WidthDivisor = 8,
        DecoderWidth = 32,
        SeEncoder = true,
        SeDecoder = true,
        Adapters = true,
        Adversarial = adversarial,
    };

    private static (Tensor Images, Dictionary<string, Tensor> Truths) Batch()
    {
        var rng = new Random(7);
        int b = 2, h = 32, w = 32, plane = h * w;
        var images = new float[b * 3 * plane];
        for (int i = 0; i < images.Length; i++) images[i] = (float)(255 * rng.NextDouble());
        var edge = new float[b * plane];
        var semseg = new float[b * plane];
        var normals = new float[b * 3 * plane];
        for (int i = 0; i < edge.Length; i++)
        {
            edge[i] = rng.NextDouble() < 0.2 ? 1 : 0;
            semseg[i] = rng.NextDouble() < 0.1 ? 255 : rng.Next(5);
        }
        for (int n = 0; n < b; n++)
            for (int p = 0; p < plane; p++)
            {
                double x = rng.NextDouble() - 0.5, y = rng.NextDouble() - 0.5, z = rng.NextDouble() + 0.2, norm = Math.Sqrt(x * x + y * y + z * z);
                normals[(n * 3 + 0) * plane + p] = (float)(x / norm);
                normals[(n * 3 + 1) * plane + p] = (float)(y / norm);
                normals[(n * 3 + 2) * plane + p] = (float)(z / norm);
            }
        return (Tensor.FromArray(images, b, 3, h, w), new Dictionary<string, Tensor>
        {
            ["edge"] = Tensor.FromArray(edge, b, 1, h, w),
            ["semseg"] = Tensor.FromArray(semseg, b, 1, h, w),
            ["normals"] = Tensor.FromArray(normals, b, 3, h, w),
        });
    }

    /// <summary>The learning rate the reference gives parameter <paramref name="name"/>: ×10 for the discriminator, ×T for a name with a
    /// task segment, else the base rate.</summary>
    private static double RateOf(string name, IReadOnlyList<string> tasks) =>
        name.StartsWith("discriminator.", StringComparison.Ordinal) ? 10 * Lr
        : name.Split('.').Any(tasks.Contains) ? tasks.Count * Lr : Lr;

    /// <summary>Each task's gradients (float64, by parameter name; absent when the parameter is outside the task's graph) at the
    /// network's current weights.</summary>
    private static Dictionary<string, double[]> Gradients(AstmtNetwork network, Tensor images, Tensor truth, string task)
    {
        network.ZeroGrad(setToNone: true);
        var losses = AstmtAdversarial.Losses(network, images, truth, task, Alpha, adversarial: network.Discriminator != null);
        losses.Total.Backward();
        var grads = new Dictionary<string, double[]>();
        foreach (var (name, p) in network.NamedParameters())
            if (p.Grad is { } g) grads[name] = g.ToDoubleArray();
        network.ZeroGrad(setToNone: true);
        return grads;
    }

    private static void Sgd(AstmtNetwork network, Dictionary<string, double[]> grads, Dictionary<string, double[]> buffers)
    {
        using var _ = Autograd.NoGrad();
        foreach (var (name, p) in network.NamedParameters())
        {
            if (!grads.TryGetValue(name, out var g)) continue;
            var values = p.ToDoubleArray();
            double lr = RateOf(name, network.Tasks);
            bool first = !buffers.TryGetValue(name, out var buf);
            buf ??= new double[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                double d = g[i] + WeightDecay * values[i];
                buf[i] = first ? d : Momentum * buf[i] + d;
                values[i] -= lr * buf[i];
            }
            buffers[name] = buf;
            p.CopyFrom(Tensor.FromArray(Array.ConvertAll(values, v => (float)v), p.Shape));
        }
    }

    /// <summary>Every parameter of <paramref name="actual"/> equals the oracle's within float32 resolution plus 0.1% of how far the
    /// oracle moved that tensor (the oracle rounds each task's update to float32 differently from the fused kernel, and the next
    /// task's gradient sees that difference); a wrong rate, momentum or decay would be off by a whole step.</summary>
    private static void AssertSameParameters(AstmtNetwork actual, AstmtNetwork expected, IReadOnlyDictionary<string, double[]> before)
    {
        var e = expected.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToDoubleArray());
        int compared = 0;
        foreach (var (name, p) in actual.NamedParameters())
        {
            var a = p.ToDoubleArray();
            double step = 0;
            for (int i = 0; i < a.Length; i++) step = Math.Max(step, Math.Abs(e[name][i] - before[name][i]));
            for (int i = 0; i < a.Length; i++)
                Assert.That(a[i], Is.EqualTo(e[name][i]).Within(1e-3 * step + 5e-7 * Math.Abs(e[name][i]) + 1e-12), $"{name}[{i}] (the oracle moved it by up to {step:E2})");
            compared++;
        }
        Assert.That(compared, Is.GreaterThan(50));
    }

    [Test]
    public void PerTaskSteps_EqualHandWrittenSgdTaskAfterTask()
    {
        var (images, truths) = Batch();
        var network = new AstmtNetwork(Tiny(), seed: 11);
        var twin = new AstmtNetwork(Tiny(), seed: 11);
        var before = twin.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToDoubleArray());

        AstmtTraining.TrainStep(network, AstmtTraining.CreateOptimizer(network, Lr), images, truths, Alpha, AstmtStepMode.PerTask);

        var buffers = new Dictionary<string, double[]>();
        var touched = new HashSet<string>();
        foreach (var task in twin.Tasks)
        {
            var grads = Gradients(twin, images, truths[task], task);
            touched.UnionWith(grads.Keys);
            Sgd(twin, grads, buffers);
        }
        AssertSameParameters(network, twin, before);
        Assert.That(touched, Does.Contain("decoder.conv_predict.edge.weight").And.Contain("discriminator.model.0.weight"));
    }

    [Test]
    public void SummedStep_EqualsOneHandWrittenSgdStepOnTheSumOfTaskGradients()
    {
        var (images, truths) = Batch();
        var network = new AstmtNetwork(Tiny(), seed: 11);
        var twin = new AstmtNetwork(Tiny(), seed: 11);
        var before = twin.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToDoubleArray());

        AstmtTraining.TrainStep(network, AstmtTraining.CreateOptimizer(network, Lr), images, truths, Alpha, AstmtStepMode.Summed);

        var sum = new Dictionary<string, double[]>();
        foreach (var task in twin.Tasks)
            foreach (var (name, g) in Gradients(twin, images, truths[task], task))
            {
                if (!sum.TryGetValue(name, out var s)) sum[name] = s = new double[g.Length];
                for (int i = 0; i < g.Length; i++) s[i] += g[i];
            }
        Sgd(twin, sum, []);
        AssertSameParameters(network, twin, before);
    }
}
