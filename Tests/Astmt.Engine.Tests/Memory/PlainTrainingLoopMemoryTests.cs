using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Optim;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>
/// A training loop written the way a PyTorch user writes it — no <c>using</c>, no dispose scope — over a small real conv network
/// with Adam, no-grad evaluation passes, losses read after backward, and a create-graph (double backprop) step now and then, must
/// run with flat memory: after warm-up the pool creates no arrays, rented bytes return to their level, the arena is empty after
/// every step, and neither the managed heap nor the process RSS grows.
/// </summary>
[NonParallelizable]
public class PlainTrainingLoopMemoryTests
{
    private const int Batch = 2, Height = 8, Width = 8;

    private sealed class Loop
    {
        private readonly SmallConvNet _model = new(seed: 5);
        private readonly Adam _optimizer;
        private readonly Tensor _image, _labels, _depth, _depthMask;
        private readonly Tensor[] _parameters;
        public double FirstLoss = double.NaN, LastLoss = double.NaN, LastEvalLoss = double.NaN;

        public Loop()
        {
            _parameters = _model.Parameters().ToArray();
            _optimizer = new Adam(_parameters, learningRate: 3e-3);
            var rng = new Random(77);
            _image = Numeric.RandomFloat(rng, Batch, 3, Height, Width);
            var labels = new long[Batch * Height * Width];
            for (int i = 0; i < labels.Length; i++) labels[i] = i % 11 == 0 ? 255 : rng.Next(SmallConvNet.Classes);
            _labels = Tensor.FromArray(labels, Batch, Height, Width);
            _depth = Numeric.RandomFloat(rng, Batch, 1, Height, Width);
            _depthMask = Tensor.FromArray(Enumerable.Range(0, Batch * Height * Width).Select(i => i % 5 == 0 ? 0f : 1f).ToArray(), Batch, 1, Height, Width);
        }

        private Tensor Loss((Tensor Logits, Tensor Depth) output) =>
            F.Add(F.CrossEntropy(output.Logits, _labels, ignoreIndex: 255), F.MaskedL1(output.Depth, _depth, _depthMask));

        /// <summary>One step, written plainly; every <paramref name="doubleBackpropEvery"/>-th step adds a gradient-norm penalty
        /// through Grad(createGraph), every <paramref name="evalEvery"/>-th step runs an evaluation pass under no-grad.</summary>
        public void Step(int step, int doubleBackpropEvery, int evalEvery)
        {
            _optimizer.ZeroGrad();
            var loss = Loss(_model.Forward(_image));
            if (step % doubleBackpropEvery == 0)
            {
                var grads = AG.Grad([loss], _parameters, createGraph: true);
                var penalty = F.Mul(F.Sum(F.Square(grads[0]!)), 1e-3);
                loss = F.Add(loss, penalty);
            }
            loss.Backward();
            _optimizer.Step();
            // Read after backward, as a PyTorch user does.
            double value = loss.Item();
            if (double.IsNaN(FirstLoss)) FirstLoss = value;
            LastLoss = value;
            Assert.That(AG.ArenaTensorCount, Is.Zero, $"step {step}: backward must leave the arena empty");

            if (step % evalEvery == 0)
            {
                _model.Eval();
                using (AG.NoGrad()) LastEvalLoss = Loss(_model.Forward(_image)).Item();
                _model.Train();
                Assert.That(AG.ArenaTensorCount, Is.Zero, $"step {step}: a no-grad evaluation records nothing");
            }
        }
    }

    [Test]
    public void TenThousandPlainStepsRunWithFlatMemory()
    {
        // Losses read after backward and no-grad evaluation outputs are caller-owned: they come back through the finalizer, so
        // between collections the pool may create a few arrays. The pool's collect threshold bounds that growth; a small one here
        // makes the bound tight enough that a leak of one small tensor per step would exceed it many times over.
        const long collectThreshold = 256 << 10;
        long savedThreshold = BufferPool.CollectThresholdBytes;
        BufferPool.CollectThresholdBytes = collectThreshold;
        try
        {
            var loop = new Loop();
            const int warmUp = 500, steps = 10_000;
            for (int i = 1; i <= warmUp; i++) loop.Step(i, doubleBackpropEvery: 25, evalEvery: 50);
            var start = MemoryProbe.Take();
            long createdBytesAtStart = BufferPool.CreatedBytes;
            var middle = start;
            for (int i = warmUp + 1; i <= steps; i++)
            {
                loop.Step(i, doubleBackpropEvery: 25, evalEvery: 50);
                if (i == (warmUp + steps) / 2) middle = MemoryProbe.Take();
            }
            var end = MemoryProbe.Take();
            TestContext.Out.WriteLine($"after warm-up: {start}\nmiddle:        {middle}\nend:           {end}\n" +
                                      $"created since warm-up: {(BufferPool.CreatedBytes - createdBytesAtStart) / 1024} KiB");

            Assert.That(end.RentedBytes, Is.EqualTo(start.RentedBytes), "bytes still rented after a collection");
            Assert.That(BufferPool.CreatedBytes - createdBytesAtStart, Is.LessThanOrEqualTo(2 * collectThreshold), "pool growth after warm-up");
            Assert.That(end.PooledBytes - start.PooledBytes, Is.LessThanOrEqualTo(2 * collectThreshold), "pooled bytes after warm-up");
            AssertFlat(start, end, loop);
        }
        finally
        {
            BufferPool.CollectThresholdBytes = savedThreshold;
        }
    }

    private static void AssertFlat(MemoryProbe start, MemoryProbe end, Loop loop)
    {
        Assert.That(end.ArenaTensors, Is.Zero);
        // The managed heap may wobble by a few allocator pages; a per-step leak of even one small object would add ~100 KiB.
        Assert.That(end.ManagedBytes - start.ManagedBytes, Is.LessThan(256 << 10), "managed heap growth");
        Assert.That(end.ResidentBytes - start.ResidentBytes, Is.LessThan(32L << 20), "process RSS growth");
        Assert.That(loop.LastLoss, Is.LessThan(loop.FirstLoss), "the loop trains");
        Assert.That(double.IsFinite(loop.LastEvalLoss), Is.True);
    }
}
