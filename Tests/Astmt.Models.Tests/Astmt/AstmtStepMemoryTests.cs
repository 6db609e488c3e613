using Astmt.Engine;
using Astmt.Engine.Memory;
using Astmt.Models.Astmt;
using NUnit.Framework;

namespace Astmt.Models.Tests.Astmt;

/// <summary>
/// Issue #3: after warm-up, a per-task adversarial ASTMT training step (create-graph gradient, discriminator, one optimizer step per
/// task with the gradients set to none in between) creates no pool arrays and runs no garbage collection. Before the fix every task
/// dropped its gradients to the finalizer and made new ones, so each step created arrays and the unowned-bytes safety net forced
/// full collections; the losses' masks and label conversions also waited for their finalizers.
/// </summary>
[NonParallelizable]
public class AstmtStepMemoryTests
{
    private const int Batch = 2, Size = 32;

    private static AstmtConfig Config(params AstmtTask[] tasks) => new()
    {
        Tasks = tasks,
        CustomBlocks = [1, 1, 1, 1],
        WidthDivisor = 8,
        Adversarial = true,
    };

    [Test]
    public void SemsegNormalsEdgeStepsCreateNoPoolArraysAndRunNoCollection() =>
        AssertSteadyAfterWarmUp(Config(AstmtTask.Semseg(4), AstmtTask.Normals, AstmtTask.Edge));

    [Test]
    public void HumanPartsSaliencyDepthStepsCreateNoPoolArraysAndRunNoCollection() =>
        AssertSteadyAfterWarmUp(Config(AstmtTask.HumanParts(3), AstmtTask.Saliency, AstmtTask.Depth));

    private static void AssertSteadyAfterWarmUp(AstmtConfig config)
    {
        var network = new AstmtNetwork(config, seed: 5);
        var optimizer = AstmtTraining.CreateOptimizer(network);
        var rng = new Random(5);
        using var images = Tensor.FromArray(Values(Batch * 3 * Size * Size, _ => (float)(rng.NextDouble() * 255)), Batch, 3, Size, Size);
        var truths = config.Tasks.ToDictionary(t => t.Name, t => GroundTruth(t, rng));
        try
        {
            for (int i = 0; i < 2; i++) AstmtTraining.TrainStep(network, optimizer, images, truths, alpha: 0.5);
            // Garbage of the warm-up (the first step's graph building, the network's construction) goes now, so what follows
            // counts only what the steady-state steps themselves create and collect.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();

            long arrays = BufferPool.ArraysCreated;
            int[] collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
            for (int i = 0; i < 3; i++)
            {
                var steps = AstmtTraining.TrainStep(network, optimizer, images, truths, alpha: 0.5);
                Assert.That(steps, Has.Count.EqualTo(config.Tasks.Count), "every task trained");
                Assert.That(steps.All(s => double.IsFinite(s.TaskLoss) && s.DiscriminatorLoss is { } d && double.IsFinite(d)), Is.True);
            }
            long created = BufferPool.ArraysCreated - arrays;
            int[] after = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];

            Assert.That(created, Is.EqualTo(0), "pool arrays created by three steady-state steps");
            Assert.That(after, Is.EqualTo(collections), "collections (gen0, gen1, gen2) during three steady-state steps");
        }
        finally
        {
            foreach (var t in truths.Values) t.Dispose();
        }
    }

    // Labels with some void (255) pixels, so the masks and the ignored pixels of every loss are exercised.
    private static Tensor GroundTruth(AstmtTask task, Random rng)
    {
        int channels = task.Kind == AstmtTaskKind.Normals ? 3 : 1;
        var values = Values(Batch * channels * Size * Size, i =>
        {
            if (i % 17 == 0) return 255f;
            return task.Kind switch
            {
                AstmtTaskKind.Semseg or AstmtTaskKind.HumanParts => rng.Next(task.OutChannels),
                AstmtTaskKind.Edge or AstmtTaskKind.Saliency => rng.Next(2),
                _ => (float)(rng.NextDouble() * 2 - 1),
            };
        });
        return Tensor.FromArray(values, Batch, channels, Size, Size);
    }

    private static float[] Values(int count, Func<int, float> value)
    {
        var v = new float[count];
        for (int i = 0; i < v.Length; i++) v[i] = value(i);
        return v;
    }
}
