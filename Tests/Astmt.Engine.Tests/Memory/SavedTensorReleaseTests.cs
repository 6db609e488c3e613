using System.Reflection;
using Astmt.Engine.Autograd;
using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>A plain Backward releases each saved activation after the last node that reads it, which lowers the step's peak.</summary>
[NonParallelizable]
public class SavedTensorReleaseTests
{
    [Test]
    public void EveryEngineNodeTypeExposesItsSavedTensors()
    {
        var opaque = new List<string>();
        foreach (var type in typeof(Node).Assembly.GetTypes())
        {
            if (type.IsAbstract || !typeof(Node).IsAssignableFrom(type) || type.ContainsGenericParameters) continue;
            var node = (Node)System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(type);
            if (!SavedTensors.IsTransparent(node)) opaque.Add(type.FullName!);
        }
        Assert.That(opaque, Is.Empty, "node types whose saved tensors early release cannot see (a graph with one keeps every activation to the end)");
    }

    [Test]
    public void BackwardPeakIsLowerThanWhenTheGraphIsRetained()
    {
        var rng = new Random(9);
        var x = Numeric.RandomFloat(rng, 2, 8, 24, 24);
        var w = Numeric.RandomFloat(rng, 8, 8, 3, 3);
        w.RequiresGrad = true;
        Tensor Forward()
        {
            var h = x;
            for (int i = 0; i < 8; i++) h = F.Relu(F.Conv2d(h, w, null, padding: 1));
            return F.Mean(F.Square(h));
        }
        long PeakDuringBackward(bool retain, out double[] grad)
        {
            var loss = Forward();
            w.Grad = null;
            BufferPool.ResetPeak();
            long before = BufferPool.RentedBytes;
            loss.Backward(retainGraph: retain);
            long peak = BufferPool.PeakRentedBytes - before;
            grad = w.Grad!.ToDoubleArray();
            Autograd.Autograd.ReleaseStep();
            return peak;
        }
        PeakDuringBackward(false, out _);
        PeakDuringBackward(true, out _);
        long retained = PeakDuringBackward(true, out var retainedGrad);
        long released = PeakDuringBackward(false, out var releasedGrad);
        TestContext.Out.WriteLine($"backward peak above the forward's live set: retained {retained / 1024} KiB, released early {released / 1024} KiB");
        Numeric.AssertClose(retainedGrad, releasedGrad, 0, 0, "early release must not change the gradient");
        // 8 conv and 8 ReLU activations of 2·8·24·24 floats (36 KiB each) are live at the start of backward; releasing them as
        // backward passes makes room for its temporaries, so the extra peak is at least a few activations lower.
        Assert.That(released, Is.LessThan(retained - 4 * 36 * 1024));
    }
}
