using Astmt.Engine.Autograd;
using Astmt.Engine.Memory;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>
/// Eval-mode inference written plainly (<c>using (NoGrad()) { var y = model.Forward(x); … }</c>): every module forward is a frame of
/// the inference scope, which returns its intermediates to the pool when it returns. Measured without any collection: the pool's
/// rented bytes after a forward are exactly what the forward returned, and the GC never runs.
/// </summary>
[NonParallelizable]
public class InferenceScopeTests
{
    [Test]
    public void ANoGradLoopFreesEveryIntermediateWithoutTheGc()
    {
        var net = new SmallConvNet(1);
        net.Eval();
        var x = Image(1, 2, 3, 32, 32);
        using (AG.NoGrad())
        {
            for (int i = 0; i < 3; i++) DisposeBoth(net.Forward(x)); // fills the pool
            Finalizers.Settle();
            long rented = BufferPool.RentedBytes, arrays = BufferPool.ArraysCreated;
            int collections = GC.CollectionCount(0);
            long outputBytes = 0;
            for (int i = 0; i < 50; i++)
            {
                var (logits, depth) = net.Forward(x);
                outputBytes = Math.Max(outputBytes, BufferPool.RentedBytes - rented);
                logits.Dispose();
                depth.Dispose();
                if (BufferPool.RentedBytes != rented) Assert.Fail($"forward {i} left {BufferPool.RentedBytes - rented} bytes rented after its outputs were disposed");
            }
            Assert.That(GC.CollectionCount(0), Is.EqualTo(collections), "no collection, induced or not, during the loop");
            Assert.That(BufferPool.ArraysCreated, Is.EqualTo(arrays), "every forward reuses the pooled arrays");
            Assert.That(outputBytes, Is.EqualTo((2L * SmallConvNet.Classes * 32 * 32 + 2L * 32 * 32) * sizeof(float)),
                "between forwards only the two outputs are rented");
            Assert.That(InferenceScope.OwnedCount, Is.Zero);
            Assert.That(InferenceScope.IsOpen, Is.False);
        }
    }

    [Test]
    public void OutputsNobodyDisposesAreTheOnlyThingsLeftRented()
    {
        var net = new SmallConvNet(4);
        net.Eval();
        var x = Image(11, 1, 3, 32, 32);
        long outputBytes = (SmallConvNet.Classes + 1L) * 32 * 32 * sizeof(float);
        using (AG.NoGrad())
        {
            DisposeBoth(net.Forward(x));
            Finalizers.Settle();
            long rented = BufferPool.RentedBytes;
            double sum = 0;
            for (int i = 0; i < 20; i++)
            {
                var (logits, _) = net.Forward(x); // dropped: they come back through the finalizer
                sum += logits.Span<float>()[0];
            }
            // The finalizer may already have returned some outputs, never anything else: no intermediate is left behind.
            Assert.That(BufferPool.RentedBytes - rented, Is.LessThanOrEqualTo(20 * outputBytes));
            Assert.That(double.IsFinite(sum), Is.True);
        }
    }

    [Test]
    public void OutputsEqualTheRecordedForwardAndStayReadableAfterLaterForwards()
    {
        var net = new SmallConvNet(2);
        net.Eval();
        var x = Image(2, 2, 3, 16, 24);
        float[] expectedLogits, expectedDepth;
        {
            var (logits, depth) = net.Forward(x); // grad mode on: the step arena's path, no inference scope
            expectedLogits = logits.ToArray<float>();
            expectedDepth = depth.ToArray<float>();
            AG.ReleaseStep();
        }
        using (AG.NoGrad())
        {
            var (logits, depth) = net.Forward(x);
            var other = Image(3, 2, 3, 16, 24);
            for (int i = 0; i < 5; i++) DisposeBoth(net.Forward(other)); // would reuse (and overwrite) the outputs' arrays if they had been freed
            Assert.That(logits.ToArray<float>(), Is.EqualTo(expectedLogits));
            Assert.That(depth.ToArray<float>(), Is.EqualTo(expectedDepth));
            Assert.That(logits.IsRetained || !logits.IsReleased, Is.True);
        }
    }

    [Test]
    public void ViewsInsideARecordKeepTheirBaseAlive()
    {
        var net = new SlicingNet();
        var x = Image(4, 1, 4, 3, 5);
        using (AG.NoGrad())
        {
            var output = net.Forward(x);
            for (int i = 0; i < 5; i++) net.Forward(Image(10 + i, 1, 4, 3, 5)).Named["first"].Dispose();
            var h = Array.ConvertAll(x.ToArray<float>(), v => MathF.Max(2 * v + 1, 0)); // [1,4,3,5]: the slices' base
            Assert.That(output.Slices[0].ToArray<float>(), Is.EqualTo(h[..30]), "channels 0-1");
            Assert.That(output.Slices[1].ToArray<float>(), Is.EqualTo(h[30..45]), "channel 2");
            Assert.That(output.Named["first"].ToArray<float>(), Is.EqualTo(h[..15]), "channel 0 through a dictionary");
            Assert.That(output.Pair.Tensor.ToArray<float>(), Is.EqualTo(h[45..]), "channel 3 through a tuple");
        }
    }

    [Test]
    public void ARetainedIntermediateSurvivesTheForward()
    {
        var net = new FeatureHookNet();
        var x = Image(5, 1, 2, 4, 4);
        using (AG.NoGrad())
        {
            var y = net.Forward(x);
            var hooked = net.Features!;
            for (int i = 0; i < 5; i++) net.Forward(Image(20 + i, 1, 2, 4, 4)).Dispose();
            var expected = Array.ConvertAll(x.ToArray<float>(), v => MathF.Max(v - 0.25f, 0));
            Assert.That(hooked.ToArray<float>(), Is.EqualTo(expected));
            Assert.That(y.ToArray<float>(), Is.EqualTo(Array.ConvertAll(expected, v => v * 3)));
        }
    }

    [Test]
    public void WhatAFrameReturnsOpaquelyIsHandedToTheCaller()
    {
        var net = new ClosureNet();
        var x = Image(6, 1, 1, 2, 2);
        using (AG.NoGrad())
        {
            var read = net.Forward(x);
            for (int i = 0; i < 5; i++) net.Forward(Image(30 + i, 1, 1, 2, 2));
            Assert.That(read(), Is.EqualTo(x.ToArray<float>()[0] + 1));
        }
    }

    [Test]
    public void AnExceptionMidForwardLeaksNothing()
    {
        var net = new Sequential(new Conv2d(3, 4, 3, padding: 1), new ReLU(), new Conv2d(5, 4, 1)); // the last conv expects 5 channels
        net.Eval();
        var good = new Sequential(new Conv2d(3, 4, 3, padding: 1), new ReLU());
        good.Eval();
        var x = Image(7, 1, 3, 8, 8);
        using (AG.NoGrad())
        {
            Assert.Throws<ArgumentException>(() => net.Forward(x));
            Finalizers.Settle();
            long rented = BufferPool.RentedBytes;
            for (int i = 0; i < 10; i++)
            {
                Assert.Throws<ArgumentException>(() => net.Forward(x));
                Assert.That(BufferPool.RentedBytes, Is.EqualTo(rented), "the failed forward's intermediates went back when it unwound");
                Assert.That(InferenceScope.OwnedCount, Is.Zero);
                Assert.That(InferenceScope.IsOpen, Is.False, "the scope closed with the outermost frame");
            }
            using var y = good.Forward(x);
            Assert.That(y.Shape, Is.EqualTo(new[] { 1, 4, 8, 8 }));
            Assert.That(BufferPool.RentedBytes - rented, Is.EqualTo(4L * 8 * 8 * sizeof(float)), "the next forward holds only its output");
        }
    }

    [Test]
    public void ASequentialHoldsTwoActivationsAtATime()
    {
        var layers = new Module<Tensor, Tensor>[8];
        for (int i = 0; i < layers.Length; i++) layers[i] = i % 2 == 0 ? new Conv2d(4, 4, 1, generator: new Generator((ulong)i + 1)) : new Sigmoid();
        var net = new Sequential(layers);
        net.Eval();
        var x = Image(8, 1, 4, 64, 64);
        long activation = 4L * 64 * 64 * sizeof(float);
        float[] expected;
        {
            expected = net.Forward(x).ToArray<float>();
            AG.ReleaseStep();
        }
        using (AG.NoGrad())
        {
            net.Forward(x).Dispose(); // fills the pool
            Finalizers.Settle();
            long rented = BufferPool.RentedBytes;
            BufferPool.ResetPeak();
            using var y = net.Forward(x);
            Assert.That(BufferPool.PeakRentedBytes - rented, Is.LessThanOrEqualTo(2 * activation),
                "a layer's input (made by the previous layer) is freed as soon as the layer returned");
            Assert.That(y.ToArray<float>(), Is.EqualTo(expected));
        }
    }

    [Test]
    public void WithGradModeOnTheStepArenaStillOwnsTheOutputs()
    {
        var net = new SmallConvNet(3);
        var x = Image(9, 1, 3, 8, 8);
        var (logits, _) = net.Forward(x);
        Assert.That(InferenceScope.IsOpen, Is.False);
        Assert.That(AG.ArenaTensorCount, Is.Positive);
        F.Sum(logits).Backward();
        Assert.That(AG.ArenaTensorCount, Is.Zero);
        Assert.That(logits.IsReleased, Is.True, "a recorded forward's outputs belong to the step, as before");
    }

    private static Tensor Image(int seed, params int[] shape)
    {
        var rng = new Random(seed);
        var data = new float[ShapeUtil.Numel(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return Tensor.FromArray(data, shape);
    }

    private static void DisposeBoth((Tensor A, Tensor B) pair)
    {
        pair.A.Dispose();
        pair.B.Dispose();
    }

    /// <summary>What <see cref="SlicingNet"/> returns: views of one intermediate inside a list, a dictionary and a tuple.</summary>
    private sealed record SlicedOutput(IReadOnlyList<Tensor> Slices, Dictionary<string, Tensor> Named, (int Channel, Tensor Tensor) Pair);

    /// <summary>h = relu(2x + 1) [B,4,H,W], returned only as channel slices (views): h itself is released by the scope.</summary>
    private sealed class SlicingNet : Module<Tensor, SlicedOutput>
    {
        protected override SlicedOutput ForwardCore(Tensor input)
        {
            var h = F.Relu(F.Add(F.Mul(input, 2), 1));
            return new SlicedOutput([F.Narrow(h, 1, 0, 2), F.Narrow(h, 1, 2, 1)], new() { ["first"] = F.Narrow(h, 1, 0, 1) }, (3, F.Narrow(h, 1, 3, 1)));
        }
    }

    /// <summary>Keeps relu(x − 0.25) in a field, as a feature hook would; returns 3 times it.</summary>
    private sealed class FeatureHookNet : Module<Tensor, Tensor>
    {
        public Tensor? Features { get; private set; }

        protected override Tensor ForwardCore(Tensor input)
        {
            Features = F.Relu(F.Sub(input, 0.25)).Retain();
            return F.Mul(Features, 3);
        }
    }

    /// <summary>Returns a delegate that reads an intermediate: the walk cannot see inside it.</summary>
    private sealed class ClosureNet : Module<Tensor, Func<float>>
    {
        protected override Func<float> ForwardCore(Tensor input)
        {
            var h = F.Add(input, 1);
            return () => h.ToArray<float>()[0];
        }
    }
}
