using Astmt.Engine;
using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>
/// A plain training loop (forward, loss, backward, manual SGD) over these ops must reach a steady state: every intermediate
/// belongs to the step arena and goes back to the pool when backward frees the graph, so after warm-up the pool creates no
/// arrays and the rented bytes stay flat.
/// </summary>
[NonParallelizable]
public class TrainingLoopMemoryTests
{
    [Test]
    public void PoolCountsStayFlatOverThreeHundredSteps()
    {
        var rng = new Random(23);
        const int b = 4, c = 6, h = 9, w = 11, classes = 5;
        var x = Numeric.RandomFloat(rng, b, c, h, w);
        var segTarget = Tensor.FromArray(Enumerable.Range(0, b * h * w).Select(i => i % 7 == 0 ? 255L : (long)rng.Next(classes)).ToArray(), b, h, w);
        var edgeTarget = Tensor.FromArray(Enumerable.Range(0, b * h * w).Select(_ => rng.NextDouble() < 0.3 ? 1f : 0f).ToArray(), b, 1, h, w);
        var edgeWeight = Tensor.FromArray(edgeTarget.ToArray<float>().Select(v => v > 0 ? 0.8f : 0.2f).ToArray(), b, 1, h, w);
        var normalTarget = Numeric.RandomFloat(rng, b, 3, h, w);
        var normalMask = Tensor.FromArray(Enumerable.Range(0, b * h * w).Select(_ => rng.NextDouble() < 0.8 ? 1f : 0f).ToArray(), b, 1, h, w);
        var parameters = new[]
        {
            Scaled(Numeric.RandomFloat(rng, c, c), 0.3), Scaled(Numeric.RandomFloat(rng, c), 0.1),
            Scaled(Numeric.RandomFloat(rng, classes, c), 0.3), Scaled(Numeric.RandomFloat(rng, 1, c), 0.3),
            Scaled(Numeric.RandomFloat(rng, 3, c), 0.3), Scaled(Numeric.RandomFloat(rng, 2, c), 0.3),
        };
        foreach (var p in parameters) p.RequiresGrad = true;

        double Step()
        {
            var (wSe, bSe, wSeg, wEdge, wNormals, wDisc) = (parameters[0], parameters[1], parameters[2], parameters[3], parameters[4], parameters[5]);
            var excitation = F.Sigmoid(F.Linear(F.Mean(x, [2, 3]), wSe, bSe));
            var features = F.Relu(F.ChannelScale(x, excitation));
            var seg = F.CrossEntropy(PixelLinear(features, wSeg), segTarget, ignoreIndex: 255);
            var edge = F.BinaryCrossEntropyWithLogits(PixelLinear(features, wEdge), edgeTarget, edgeWeight);
            var normals = F.MaskedL1(F.L2Normalize(PixelLinear(features, wNormals)), normalTarget, normalMask);
            var pooled = F.Max(F.Flatten(F.GradientReversal(features, 0.5), 2), 2);
            var disc = F.Mean(F.Softmax(F.MatMul(pooled, F.Permute(wDisc, 1, 0)), 1));
            var loss = F.Add(F.Add(F.Add(seg, edge), F.Exp(F.Log(F.Sqrt(F.Square(normals))))), F.Clamp(disc, 0, 10));
            double value = loss.Item();
            loss.Backward();
            foreach (var p in parameters)
            {
                var data = p.Span<float>();
                var grad = p.Grad!.Span<float>();
                for (int i = 0; i < data.Length; i++) data[i] -= 0.05f * grad[i];
                grad.Clear();
            }
            Assert.That(Autograd.Autograd.ArenaTensorCount, Is.Zero, "backward released the step's tensors");
            return value;
        }

        for (int i = 0; i < 10; i++) Step();
        Finalizers.Settle();
        long created = BufferPool.ArraysCreated, rented = BufferPool.RentedBytes;
        double first = Step(), last = first;
        for (int i = 1; i < 300; i++) last = Step();
        // Backward hands each loss to the caller; the dropped ones come back through the finalizer.
        Finalizers.Settle();
        Assert.That(BufferPool.ArraysCreated, Is.EqualTo(created), "arrays created after warm-up");
        Assert.That(BufferPool.RentedBytes, Is.EqualTo(rented), "bytes rented after warm-up");
        Assert.That(last, Is.LessThan(first), "the loop trains");
    }

    private static Tensor PixelLinear(Tensor x, Tensor w) => F.Permute(F.Linear(F.Permute(x, 0, 2, 3, 1), w, null), 0, 3, 1, 2);

    private static Tensor Scaled(Tensor t, double s)
    {
        var r = F.Mul(t, s).Detach();
        Autograd.Autograd.ReleaseStep();
        return r;
    }
}
