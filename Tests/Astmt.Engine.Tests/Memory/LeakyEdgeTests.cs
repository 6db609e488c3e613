using System.Runtime.CompilerServices;
using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>The places where a plainly written loop could leak: who frees what, and when.</summary>
[NonParallelizable]
public class LeakyEdgeTests
{
    private static (Tensor X, Tensor W) Inputs(int seed)
    {
        var rng = new Random(seed);
        var x = Numeric.RandomFloat(rng, 2, 3, 6, 6);
        var w = Numeric.RandomFloat(rng, 4, 3, 3, 3);
        w.RequiresGrad = true;
        return (x, w);
    }

    private static Tensor Loss(Tensor x, Tensor w) => F.Mean(F.Square(F.Relu(F.Conv2d(x, w, null, padding: 1))));

    [Test]
    public void LossReadAfterBackwardAndKeptAcrossStepsStaysReadable()
    {
        var (x, w) = Inputs(1);
        var kept = new List<(Tensor Loss, double Before)>();
        for (int i = 0; i < 5; i++)
        {
            var loss = Loss(x, w);
            double before = loss.Item();
            loss.Backward();
            kept.Add((loss, before));
            Assert.That(AG.ArenaTensorCount, Is.Zero, "everything but the loss went back to the pool");
        }
        foreach (var (loss, before) in kept) Assert.That(loss.Item(), Is.EqualTo(before), "a loss read after backward, steps later");
        long rented = BufferPool.RentedBytes;
        kept.Clear();
        MemoryProbe.Take();
        Assert.That(BufferPool.RentedBytes, Is.LessThan(rented), "dropped losses come back through the finalizer");
    }

    [Test]
    public void IntermediatesAreStillReleasedWhileTheLossIsKept()
    {
        var (x, w) = Inputs(2);
        var baseline = MemoryProbe.Take();
        var y = F.Relu(F.Conv2d(x, w, null, padding: 1));
        var loss = F.Mean(F.Square(y));
        loss.Backward();
        Assert.That(y.IsReleased, Is.True, "an intermediate the caller did not retain is released by backward");
        Assert.That(loss.IsReleased, Is.False, "the loss backward started from is handed to the caller");
        var after = MemoryProbe.Take();
        // Only the loss (4 bytes) and w's new gradient stay rented.
        Assert.That(after.RentedBytes - baseline.RentedBytes, Is.EqualTo(sizeof(float) * (1 + w.Numel)));
        GC.KeepAlive(loss);
    }

    [Test]
    public void NoGradOutputsReturnWhenUnreferenced()
    {
        var (x, w) = Inputs(3);
        var baseline = MemoryProbe.Take();
        double sum = 0;
        for (int i = 0; i < 200; i++)
            using (AG.NoGrad()) sum += Loss(x, w).Item();
        Assert.That(AG.ArenaTensorCount, Is.Zero, "no-grad ops record nothing and own nothing");
        var after = MemoryProbe.Take();
        Assert.That(after.RentedBytes, Is.EqualTo(baseline.RentedBytes), "no-grad outputs come back through the finalizer");
        Assert.That(double.IsFinite(sum), Is.True);
    }

    [Test]
    public void AnExceptionMidForwardIsFreedByTheNextBackward()
    {
        var (x, w) = Inputs(4);
        var wrongBias = Tensor.Zeros([5]);
        FailThenStep(x, w, wrongBias, 2); // warm-up: a failed step's partial graph lives beside the next step's graph once
        var baseline = MemoryProbe.Take();
        long created = BufferPool.CreatedBytes;
        FailThenStep(x, w, wrongBias, 20);
        var after = MemoryProbe.Take();
        Assert.That(after.RentedBytes, Is.EqualTo(baseline.RentedBytes));
        // Only the handed-over losses (one scalar a step, back through the finalizer) may need new arrays.
        Assert.That(BufferPool.CreatedBytes - created, Is.LessThanOrEqualTo(20 * sizeof(float)), "the failed steps reuse pooled arrays");
    }

    // Not inlined, so no stack slot of the test method keeps the last loss alive across the probe's collection.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void FailThenStep(Tensor x, Tensor w, Tensor wrongBias, int times)
    {
        for (int i = 0; i < times; i++)
        {
            Assert.Throws<ArgumentException>(() => F.Add(F.Relu(F.Conv2d(x, w, null, padding: 1)), F.Reshape(wrongBias, 1, 5, 1, 1)));
            Assert.That(AG.ArenaTensorCount, Is.Positive, "the partial graph is still owned by the step");
            Loss(x, w).Backward();
            Assert.That(AG.ArenaTensorCount, Is.Zero, "the next backward released the partial graph with its own");
        }
    }

    [Test]
    public void AGraphNeverBackwardedIsFreedByReleaseStep()
    {
        var (x, w) = Inputs(5);
        var baseline = MemoryProbe.Take();
        for (int i = 0; i < 20; i++)
        {
            // An evaluation written without NoGrad records a graph; nothing backwards through it.
            double value = Loss(x, w).Item();
            Assert.That(AG.ArenaTensorCount, Is.Positive);
            AG.ReleaseStep();
            Assert.That(double.IsFinite(value), Is.True);
        }
        var after = MemoryProbe.Take();
        Assert.That(after.RentedBytes, Is.EqualTo(baseline.RentedBytes));
    }

    [Test]
    public void CreateGraphGradientsAreFreedByTheBackwardThatConsumesThem()
    {
        var (x, w) = Inputs(6);
        void Step()
        {
            var loss = Loss(x, w);
            var g = AG.Grad([loss], [w], createGraph: true)[0]!;
            F.Add(loss, F.Sum(F.Square(g))).Backward();
            Assert.That(AG.ArenaTensorCount, Is.Zero, "the first- and second-order graphs were both released");
            w.Grad!.FillInPlace(0); // zero_grad keeping the buffer; set-to-none would hand each old gradient to the finalizer
        }
        for (int i = 0; i < 3; i++) Step();
        var baseline = MemoryProbe.Take();
        long created = BufferPool.CreatedBytes;
        for (int i = 0; i < 20; i++) Step();
        var after = MemoryProbe.Take();
        Assert.That(after.RentedBytes, Is.LessThanOrEqualTo(baseline.RentedBytes + sizeof(float)), "at most the last loss is still referenced");
        // Each step's loss is handed to the caller and returns through the finalizer, so until a collection runs a step may need
        // one new scalar; every other buffer is reused.
        Assert.That(BufferPool.CreatedBytes - created, Is.LessThanOrEqualTo(20 * sizeof(float)), "steady state after warm-up");
    }

    [Test]
    public void TensorsCreatedWithGradEnabledAreStepOwnedAndSayWhyWhenReadLate()
    {
        var (x, w) = Inputs(7);
        var scaled = F.Mul(x, 2.0); // created while grad mode is on: the step owns it
        Loss(scaled, w).Backward();
        var error = Assert.Throws<ObjectDisposedException>(() => scaled.ToArray<float>());
        Assert.That(error!.Message, Does.Contain("Retain()"));
        var kept = F.Mul(x, 2.0).Retain();
        Loss(kept, w).Backward();
        Assert.That(kept.ToArray<float>()[0], Is.EqualTo(2 * x.ToArray<float>()[0]), "Retain() keeps a tensor past its step");
    }
}
