using Astmt.Engine.Cpu;
using Astmt.Engine.Ops;
using Astmt.Engine.Optim;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>
/// Managed garbage of a steady-state training step (what drives gen0 collections; the pool's arrays are not garbage): a plain step
/// of a small conv network with MTAN-style losses and Adam allocates a bounded number of bytes per tensor the step records, and
/// nothing that grows with the image size. Measured on one thread (<see cref="GC.GetAllocatedBytesForCurrentThread"/>, with
/// <c>Parallelism.Threads = 1</c> so every kernel runs on it). A memory property, not a timing.
/// </summary>
[NonParallelizable]
public class StepAllocationTests
{
    private const int Batch = 2, WarmUpSteps = 3, MeasuredSteps = 8;

    /// <summary>
    /// Bytes a recorded tensor may cost its step: the output (Tensor ≈ 100 B, shape and strides ≈ 2 × 40 B, Storage ≈ 60 B),
    /// its node (≈ 100–150 B with its inputs array) and, in backward, the gradients it receives and hands on (one or two tensors
    /// of ≈ 240 B each plus the result array ≈ 40 B): at most about 1 KB (measured: ≈ 680 B). Before the allocation work this
    /// step cost ≈ 1.5 KB per recorded tensor at 16×16 (closures per parallel loop, eagerly formatted shape strings, fresh
    /// collections in every backward, a throw-away params array per node) and per-element scratch made it grow with the image.
    /// </summary>
    private const int BytesPerRecordedTensor = 1024;

    /// <summary>Per-step costs that do not scale with the graph (the backward's root and seed arrays, the optimizer's loop).</summary>
    private const int FixedBytes = 4 << 10;

    private sealed class Loop
    {
        private readonly SmallConvNet _model = new(seed: 11);
        private readonly Adam _optimizer;
        private readonly Tensor _image, _labels, _depth;

        public Loop(int height, int width)
        {
            _optimizer = new Adam(_model.Parameters().ToArray(), learningRate: 1e-3);
            var rng = new Random(3);
            _image = Numeric.RandomFloat(rng, Batch, 3, height, width);
            var labels = new long[Batch * height * width];
            for (int i = 0; i < labels.Length; i++) labels[i] = i % 7 == 0 ? -1 : rng.Next(SmallConvNet.Classes);
            _labels = Tensor.FromArray(labels, Batch, height, width);
            var depth = new float[Batch * height * width];
            for (int i = 0; i < depth.Length; i++) depth[i] = i % 5 == 0 ? 0f : 0.5f + (float)rng.NextDouble();
            _depth = Tensor.FromArray(depth, Batch, 1, height, width);
        }

        /// <summary>Tensors the step's arena held when forward and losses were done.</summary>
        public int RecordedTensors { get; private set; }

        /// <summary>One step as the MTAN trainer writes it: train mode, zero grad, forward, semantic NLL plus a depth L1 over the
        /// valid pixels (mask from the ground truth's channel sum, divided by the valid count), backward, Adam.</summary>
        public void Step()
        {
            _model.Train();
            _optimizer.ZeroGrad();
            var (logits, depth) = _model.Forward(_image);
            var semantic = F.NllLoss(F.LogSoftmax(logits, 1), _labels, ignoreIndex: -1);
            var mask = F.NotEqual(F.Sum(_depth, [1], keepDim: true), 0.0);
            var depthLoss = F.Div(F.Sum(F.Mul(F.Abs(F.Sub(depth, _depth)), mask)), F.Sum(mask).Item());
            var loss = F.Add(semantic, depthLoss);
            RecordedTensors = AG.ArenaTensorCount;
            loss.Backward();
            _optimizer.Step();
            loss.Dispose();
        }
    }

    private static (double BytesPerStep, int RecordedTensors) Measure(int height, int width)
    {
        int saved = Parallelism.Threads;
        Parallelism.Threads = 1;
        try
        {
            var loop = new Loop(height, width);
            for (int i = 0; i < WarmUpSteps; i++) loop.Step();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < MeasuredSteps; i++) loop.Step();
            long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            return ((double)bytes / MeasuredSteps, loop.RecordedTensors);
        }
        finally
        {
            Parallelism.Threads = saved;
        }
    }

    [Test]
    public void SteadyStateStepAllocatesAboutAKilobytePerRecordedTensor()
    {
        var (bytesPerStep, recorded) = Measure(16, 16);
        double bound = (double)BytesPerRecordedTensor * recorded + FixedBytes;
        TestContext.Out.WriteLine($"{bytesPerStep:F0} B per step for {recorded} recorded tensors ({bytesPerStep / recorded:F0} B each); bound {bound:F0} B");
        Assert.That(recorded, Is.GreaterThan(20), "the step records a real graph");
        Assert.That(bytesPerStep, Is.LessThanOrEqualTo(bound), "managed bytes allocated per steady-state step");
    }

    [Test]
    public void StepAllocationDoesNotGrowWithTheImage()
    {
        var (small, recordedSmall) = Measure(16, 16);
        var (large, recordedLarge) = Measure(64, 96);
        TestContext.Out.WriteLine($"16x16: {small:F0} B per step, 64x96: {large:F0} B per step ({recordedSmall} and {recordedLarge} recorded tensors)");
        Assert.That(recordedLarge, Is.EqualTo(recordedSmall), "same graph at both sizes");
        // 24 times the pixels: any per-element or per-row scratch on the managed heap would show as tens of KB.
        Assert.That(large - small, Is.LessThan(1024), "bytes per step that grow with the image");
    }
}
