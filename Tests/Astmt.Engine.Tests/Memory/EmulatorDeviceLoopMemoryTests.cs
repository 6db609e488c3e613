using Astmt.Engine.Cuda;
using Astmt.Engine.Cuda.Backend;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;
using AG = Astmt.Engine.Autograd.Autograd;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>
/// The same plain loop on the emulated GPU: op outputs live in the device's caching allocator, and after warm-up a step neither
/// allocates device memory nor leaves any live (tensors dropped by the caller come back through the finalizer thread).
/// </summary>
[NonParallelizable, Category("Emulator")]
public class EmulatorDeviceLoopMemoryTests
{
    private static readonly Device EmuDevice = new(DeviceKind.Emu);

    [Test]
    public void PlainStepsOnTheEmulatorKeepDeviceMemoryFlat()
    {
        if (!EmulatorContext.IsAvailable(out var why)) Assert.Ignore($"The kernel emulator is not built: {why}.");
        var allocator = CudaBackend.Initialize(EmuDevice).Context.Allocator;
        // Dropped device tensors come back through the finalizer; the allocator's collect threshold bounds what it allocates
        // meanwhile. With a zero threshold every cache miss first collects, so after warm-up steps allocate only when a block of the
        // size they need is still referenced (without the collection: about 100 allocations over these 35 steps).
        const long threshold = 0;
        long savedThreshold = allocator.CollectThresholdBytes;
        allocator.CollectThresholdBytes = threshold;
        try
        {
            Run(allocator, threshold);
        }
        finally
        {
            allocator.CollectThresholdBytes = savedThreshold;
        }
    }

    private static void Run(CachingDeviceAllocator allocator, long threshold)
    {
        var model = new SmallConvNet(seed: 3);
        model.To(EmuDevice);
        var rng = new Random(31);
        const int b = 2, h = 8, w = 8;
        var image = Numeric.RandomFloat(rng, b, 3, h, w).To(EmuDevice);
        var labels = new long[b * h * w];
        for (int i = 0; i < labels.Length; i++) labels[i] = i % 7 == 0 ? 255 : rng.Next(SmallConvNet.Classes);
        var target = Tensor.FromArray(labels, b, h, w).To(EmuDevice);
        var depth = Numeric.RandomFloat(rng, b, 1, h, w).To(EmuDevice);
        var mask = Tensor.FromArray(Enumerable.Range(0, b * h * w).Select(i => i % 3 == 0 ? 0f : 1f).ToArray(), b, 1, h, w).To(EmuDevice);

        double Step(int i)
        {
            model.ZeroGrad();
            var (logits, d) = model.Forward(image);
            var loss = F.Add(F.CrossEntropy(logits, target, ignoreIndex: 255), F.MaskedL1(d, depth, mask));
            loss.Backward();
            double value = loss.Item();
            Assert.That(AG.ArenaTensorCount, Is.Zero);
            if (i % 5 == 0)
            {
                model.Eval();
                using (AG.NoGrad()) _ = model.Forward(image);
                model.Train();
            }
            return value;
        }

        for (int i = 0; i < 5; i++) Step(i);
        MemoryProbe.Take();
        long raw = allocator.RawAllocations, live = allocator.LiveBytes, held = allocator.LiveBytes + allocator.CachedBytes;
        double first = Step(5), last = first;
        for (int i = 6; i < 40; i++) last = Step(i);
        MemoryProbe.Take();
        TestContext.Out.WriteLine($"device: {allocator.RawAllocations - raw} raw allocations after warm-up, live {allocator.LiveBytes} B (was {live} B), cached {allocator.CachedBytes} B (held {held} B after warm-up)");
        Assert.That(allocator.LiveBytes, Is.EqualTo(live), "device bytes still live after a collection");
        Assert.That(allocator.RawAllocations - raw, Is.LessThanOrEqualTo(16), "device allocations after warm-up");
        Assert.That(allocator.LiveBytes + allocator.CachedBytes - held, Is.LessThanOrEqualTo(threshold + (16 << 10)), "device memory held after warm-up");
        Assert.That(double.IsFinite(last), Is.True);
    }
}
