using Astmt.Engine;
using Astmt.Engine.Optim;
using Astmt.Models.Data;
using Astmt.Models.Losses;
using Astmt.Models.Mtan;
using Astmt.Models.Synthetic;
using Astmt.Models.Weighting;
using NUnit.Framework;

namespace Astmt.Models.Tests.Mtan;

/// <summary>End to end: a narrow SegNet-MTAN fits a batch of two synthetic scenes with Adam under each weighting strategy (15 steps cut every task loss by a third or more; the test asks for a quarter).</summary>
public class MtanTrainingTests
{
    private const int Size = 32, Images = 2, BatchSize = 2;

    private static (Tensor Image, Tensor[] Targets)[] Batches()
    {
        var data = new SyntheticSceneDataset(Images, Size, Size, seed: 3);
        var sample = new MultiTaskSample(data.Tasks, Size, Size);
        var batches = new (Tensor, Tensor[])[Images / BatchSize];
        for (int b = 0; b < batches.Length; b++)
        {
            var image = new List<float>();
            var labels = new List<long>();
            var depth = new List<float>();
            var normal = new List<float>();
            for (int i = 0; i < BatchSize; i++)
            {
                data.Load(b * BatchSize + i, sample);
                image.AddRange(sample.Image);
                labels.AddRange(sample.Labels[sample.TaskIndex("semantic")]);
                depth.AddRange(sample.Values[sample.TaskIndex("depth")]);
                normal.AddRange(sample.Values[sample.TaskIndex("normal")]);
            }
            batches[b] = (Tensor.FromArray(image.ToArray(), BatchSize, 3, Size, Size),
                [Tensor.FromArray(labels.ToArray(), BatchSize, Size, Size), Tensor.FromArray(depth.ToArray(), BatchSize, 1, Size, Size),
                 Tensor.FromArray(normal.ToArray(), BatchSize, 3, Size, Size)]);
        }
        return batches;
    }

    [TestCase("equal")]
    [TestCase("dwa")]
    [TestCase("uncert")]
    public void EveryTaskLossFallsWithinAFewEpochs(string weightingName)
    {
        var model = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = 1.0 / 16, Seed = 5 });
        var weighting = TaskWeightings.Create(weightingName, model.Tasks.Count, model.LogSigma);
        var optimizer = new Adam(model.Parameters().Concat(weighting.Parameters), learningRate: 1e-2);
        var batches = Batches();
        double[] first = [], last = [];
        const int epochs = 15;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            weighting.BeginEpoch(epoch);
            var sums = new double[3];
            foreach (var (image, targets) in batches)
            {
                optimizer.ZeroGrad();
                var output = model.Forward(image);
                var losses = model.Tasks.Select((t, i) => MtanLosses.For(t, output.Predictions[i], targets[i])).ToArray();
                var values = losses.Select(l => l.Item()).ToArray();
                weighting.Backward(losses, []);
                optimizer.Step();
                weighting.EndBatch(values);
                for (int t = 0; t < 3; t++) sums[t] += values[t] / batches.Length;
            }
            weighting.EndEpoch();
            if (epoch == 0) first = sums;
            last = sums;
        }
        for (int t = 0; t < 3; t++)
            TestContext.Out.WriteLine($"{model.Tasks[t]} {first[t]:F4} -> {last[t]:F4}");
        for (int t = 0; t < 3; t++)
            Assert.That(last[t], Is.LessThan(0.75 * first[t]), $"{model.Tasks[t]} loss: epoch 0 {first[t]:F4}, epoch {epochs - 1} {last[t]:F4}");
        if (weightingName == "uncert") Assert.That(model.LogSigma!.ToDoubleArray(), Is.Not.EqualTo(new[] { -0.5, -0.5, -0.5 }), "logsigma is learned");
        if (weightingName == "dwa") Assert.That(weighting.Weights, Is.Not.EqualTo(new[] { 1.0, 1.0, 1.0 }), "DWA moved off equal weights after epoch 1");
    }
}
