using Astmt.Engine;
using Astmt.Models.Astmt;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Models.Tests.Astmt;

/// <summary>
/// Eval-mode inference of ASTMT through the inference scope (<see cref="AstmtNetwork.ForwardTasks"/> and every task module are
/// frames): the no-grad outputs equal the recorded forward's and only they stay rented afterwards.
/// </summary>
[NonParallelizable]
public class AstmtInferenceMemoryTests
{
    private static AstmtConfig Tiny() => TinyAstmt.AdversarialThreeTasks();

    [Test]
    public void NoGradForwardTasksEqualsTheRecordedForwardAndLeavesOnlyItsOutputsRented()
    {
        var network = new AstmtNetwork(Tiny(), seed: 21);
        network.Eval();
        var rng = new Random(21);
        var data = new float[2 * 3 * 32 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = (float)rng.NextDouble();
        var x = Tensor.FromArray(data, 2, 3, 32, 32);
        var expected = network.ForwardTasks(x).ToDictionary(o => o.Key, o => o.Value.Prediction.ToArray<float>()); // grad mode on
        AG.ReleaseStep();
        InferenceMemory.AssertOnlyTheOutputsStayRented(() => network.ForwardTasks(x),
            outputs => outputs.Values.Sum(o => (long)(o.Prediction.Numel + o.Features.Numel) * sizeof(float)),
            outputs =>
            {
                foreach (var (task, output) in outputs)
                    Assert.That(output.Prediction.ToArray<float>(), Is.EqualTo(expected[task]).Within(1e-4), task);
            },
            DisposeAll);
    }

    private static void DisposeAll(IReadOnlyDictionary<string, AstmtOutput> outputs)
    {
        foreach (var o in outputs.Values)
        {
            o.Prediction.Dispose();
            o.Features.Dispose();
        }
    }
}
