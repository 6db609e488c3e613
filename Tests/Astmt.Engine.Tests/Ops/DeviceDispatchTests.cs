using Astmt.Engine;
using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>Ops on a non-CPU tensor call the device's kernels with the geometry they computed, and a kernel the backend lacks
/// fails with a NotSupportedException naming it and the device.</summary>
[NonParallelizable]
public class DeviceDispatchTests
{
    private static readonly Device Fake = new(DeviceKind.Cuda, 0);
    private static readonly RecordingOps Ops = new();

    private IDeviceBackend? _previous;

    [OneTimeSetUp]
    public void RegisterFakeDevice()
    {
        // The registries are process-wide: remember a real CUDA backend (which serves as both registries) to put it back.
        try { _previous = DeviceRegistry.Get(Fake); } catch (InvalidOperationException) { _previous = null; }
        DeviceRegistry.Register(DeviceKind.Cuda, new FakeBackend());
        DeviceOps.Register(DeviceKind.Cuda, Ops);
    }

    [OneTimeTearDown]
    public void RestoreRealDevice()
    {
        if (_previous == null) return;
        DeviceRegistry.Register(DeviceKind.Cuda, _previous);
        if (_previous is IDeviceOps ops) DeviceOps.Register(DeviceKind.Cuda, ops);
    }

    [Test]
    public void OpsDispatchTheirKernelsWithTheirGeometry()
    {
        var x = Tensor.Zeros([2, 3, 4, 5], device: Fake);
        Ops.Calls.Clear();
        F.Relu(x);
        F.Clamp(x, null, 2);
        F.Softmax(x, 1);
        F.LogSoftmax(x, 3);
        Assert.That(Ops.Calls, Is.EqualTo(new[] { "unary Relu 0 0", "unary Clamp -Infinity 2", "softmax 2x3x20 False", "softmax 24x5x1 True" }));
    }

    [Test]
    public void MissingKernelsNameTheKernelAndTheDevice()
    {
        var x = Tensor.Zeros([2, 3, 4, 5], device: Fake);
        var ex = Assert.Throws<NotSupportedException>(() => F.Norm(x, 1));
        Assert.That(ex!.Message, Does.Contain("'norm'").And.Contain("cuda:0").And.Contain("[2x3x4x5]"));
        ex = Assert.Throws<NotSupportedException>(() => F.ChannelScale(x, Tensor.Zeros([2, 3], device: Fake)));
        Assert.That(ex!.Message, Does.Contain("channel_scale"));
        ex = Assert.Throws<NotSupportedException>(() => F.MatMul(Tensor.Zeros([2, 3], device: Fake), Tensor.Zeros([3, 4], device: Fake)));
        Assert.That(ex!.Message, Does.Contain("gemm"));
    }

    [Test]
    public void MixedDevicesAreRejected()
    {
        var x = Tensor.Zeros([2, 3, 4, 4], device: Fake);
        var ex = Assert.Throws<ArgumentException>(() => F.ChannelScale(x, Tensor.Zeros([2, 3])));
        Assert.That(ex!.Message, Does.Contain("channel_scale").And.Contain("different devices"));
        ex = Assert.Throws<ArgumentException>(() => F.NllLoss(Tensor.Zeros([2, 3], device: Fake), Tensor.Zeros([2], DType.Int64)));
        Assert.That(ex!.Message, Does.Contain("nll_loss").And.Contain("different devices"));
    }

    /// <summary>Implements the core kernels as no-ops and records the calls of the families under test; the rest keep their
    /// default bodies.</summary>
    private sealed class RecordingOps : IDeviceOps
    {
        public readonly List<string> Calls = [];
        public void Fill(Tensor t, double value) { }
        public void AddInPlace(Tensor dst, Tensor src) { }
        public void Binary(F.BinaryKind kind, Tensor a, Tensor b, Tensor y) { }
        public void SumTo(Tensor x, Tensor y, int[] keptShape) { }
        public void Affine(Tensor x, double scale, double shift, Tensor y) { }
        public void CopyBlocks(Tensor src, int srcOffset, int srcStride, Tensor dst, int dstOffset, int dstStride, int length, int count) { }
        public void Unary(F.UnaryKind kind, Tensor x, Tensor y, double p, double q) => Calls.Add($"unary {kind} {p} {q}");
        public void Softmax(Tensor x, Tensor y, int outer, int size, int inner, bool log) => Calls.Add($"softmax {outer}x{size}x{inner} {log}");
    }

    private sealed class FakeBackend : IDeviceBackend
    {
        public Storage Allocate(DType dtype, int length, bool clear) => Storage.FromDevice(dtype, Fake, length, new FakeBuffer(length * dtype.SizeOf()));
        public void Copy(Tensor source, Tensor destination) { }
    }

    private sealed class FakeBuffer(long bytes) : IDeviceBuffer
    {
        public long Bytes => bytes;
        public void Dispose() { }
    }
}
