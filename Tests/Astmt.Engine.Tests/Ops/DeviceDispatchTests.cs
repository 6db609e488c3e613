using Astmt.Engine;
using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>Ops on a non-CPU tensor call the device's kernels with the geometry they computed, and a kernel the backend lacks
/// fails with a NotSupportedException naming it and the device.</summary>
[NonParallelizable]
public class DeviceDispatchTests : FakeDeviceFixture
{
    private static readonly RecordingOps Ops = new();

    private protected override RecordingDeviceOps FakeOps => Ops;

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

    /// <summary>Records the calls of the families under test (the core kernels are no-ops in the base); the rest keep their
    /// default bodies.</summary>
    private sealed class RecordingOps : RecordingDeviceOps, IDeviceOps
    {
        public void Unary(F.UnaryKind kind, Tensor x, Tensor y, double p, double q) => Calls.Add($"unary {kind} {p} {q}");
        public void Softmax(Tensor x, Tensor y, int outer, int size, int inner, bool log) => Calls.Add($"softmax {outer}x{size}x{inner} {log}");
    }
}
