using Astmt.Engine;
using Astmt.Engine.Memory;
using Astmt.Models.Mtan;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Models.Tests.Mtan;

/// <summary>
/// Eval-mode inference of the MTAN family through the inference scope: the no-grad forward frees its intermediates as it goes
/// (the models release dead tensors early), so its predictions must equal the recorded forward's (to rounding: the no-grad forward
/// runs Conv+BN fused; a tensor freed too early would be overwritten by a later op reusing its array), and a plain loop leaves only the predictions rented and never collects.
/// </summary>
[NonParallelizable]
public class MtanInferenceMemoryTests
{
    private static IEnumerable<string> Models => MtanModels.Names;

    [TestCaseSource(nameof(Models))]
    public void NoGradPredictionsEqualTheRecordedForwardAndLeaveOnlyThemRented(string name)
    {
        var network = MtanModels.Create(name, new MtanModelOptions { Width = 0.125, Seed = 5 });
        network.Eval();
        var x = Image(32, 64);
        var expected = network.Forward(x).Predictions.Select(p => p.ToArray<float>()).ToArray(); // grad mode on: the step arena's path
        AG.ReleaseStep();
        InferenceMemory.AssertOnlyTheOutputsStayRented(() => network.Forward(x),
            output => output.Predictions.Sum(p => (long)p.Numel * sizeof(float)),
            output =>
            {
                for (int t = 0; t < expected.Length; t++)
                    Assert.That(output.Predictions[t].ToArray<float>(), Is.EqualTo(expected[t]).Within(1e-4), $"{name}: task {t}");
            },
            Dispose);
    }

    [Test]
    public void APlainMtanInferenceLoopNeverCollects()
    {
        var network = MtanModels.Create("mtan-segnet", new MtanModelOptions { Width = 0.125, Seed = 6 });
        network.Eval();
        var x = Image(64, 64);
        using (AG.NoGrad())
        {
            for (int i = 0; i < 2; i++) Dispose(network.Forward(x));
            InferenceMemory.Settle();
            long rented = BufferPool.RentedBytes, arrays = BufferPool.ArraysCreated;
            int collections = GC.CollectionCount(0);
            for (int i = 0; i < 10; i++) Dispose(network.Forward(x));
            Assert.That(GC.CollectionCount(0), Is.EqualTo(collections), "no collection, induced or not");
            Assert.That(BufferPool.ArraysCreated, Is.EqualTo(arrays), "the pool reaches a steady state");
            Assert.That(BufferPool.RentedBytes, Is.EqualTo(rented));
        }
    }

    private static void Dispose(MultiTaskOutput output)
    {
        foreach (var p in output.Predictions) p.Dispose();
    }

    private static Tensor Image(int height, int width)
    {
        var rng = new Random(height + width);
        var data = new float[3 * height * width];
        for (int i = 0; i < data.Length; i++) data[i] = (float)rng.NextDouble();
        return Tensor.FromArray(data, 1, 3, height, width);
    }
}
