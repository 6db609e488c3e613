using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>Convolution, batch norm, pooling and resize on a non-CPU tensor call the device's kernels, forward and backward,
/// with the geometry the op computed.</summary>
[NonParallelizable]
public class SpatialDeviceDispatchTests : FakeDeviceFixture
{
    private static readonly RecordingOps Ops = new();

    private protected override RecordingDeviceOps FakeOps => Ops;

    [Test]
    public void ConvolutionDispatchesForwardAndBothBackwards()
    {
        var (x, w, b) = (Leaf(2, 3, 8, 9), Leaf(4, 3, 3, 3), Leaf(4));
        Ops.Calls.Clear();
        F.Sum(F.Conv2d(x, w, b, stride: 2, padding: 1, dilation: 1)).Backward();
        // P = (8 + 2 − 3) / 2 + 1 = 4, Q = (9 + 2 − 3) / 2 + 1 = 5.
        var geo = new Conv2dGeometry(B: 2, C: 3, H: 8, W: 9, K: 4, R: 3, S: 3, P: 4, Q: 5, Stride: 2, Padding: 1, Dilation: 1);
        Assert.That(Ops.Calls, Is.EqualTo(new[] { $"conv forward bias {geo}", $"conv data {geo}", $"conv weight {geo}" }));
    }

    [Test]
    public void BatchNormReluDispatchesStatisticsUpdateForwardAndFusedBackward()
    {
        var (x, w, b) = (Leaf(2, 3, 4, 5), Leaf(3), Leaf(3));
        var (rm, rv) = (Tensor.Zeros([3], device: Fake), Tensor.Zeros([3], device: Fake));
        Ops.Calls.Clear();
        F.Sum(F.BatchNormRelu2d(x, w, b, rm, rv, training: true)).Backward();
        Assert.That(Ops.Calls, Is.EqualTo(new[]
        {
            "bn statistics", $"bn update 0.1 {40.0 / 39}", "bn invstd 1E-05", "bn forward relu True", "bn backward training True masked True x w b",
        }));
    }

    [Test]
    public void PoolingDispatchesPoolScatterAndGather()
    {
        var x = Leaf(1, 2, 7, 6);
        Ops.Calls.Clear();
        var (pooled, indices) = F.MaxPool2dWithIndices(x, 3, 2, 1);
        var up = F.MaxUnpool2d(pooled, indices, 7, 6);
        F.Sum(up).Backward();
        Assert.That(Ops.Calls, Is.EqualTo(new[] { "max pool 3 2 1 -> [1x2x4x3]", "scatter -> [1x2x7x6]", "gather -> [1x2x4x3]", "scatter -> [1x2x7x6]" }));
    }

    [Test]
    public void ResizeDispatchesForwardAndTranspose()
    {
        var x = Leaf(1, 2, 4, 5);
        Ops.Calls.Clear();
        F.Sum(F.Interpolate(x, 2.0, ResizeMode.Bilinear)).Backward();
        const string geo = "ResizeGeometry { B = 1, C = 2, InH = 4, InW = 5, OutH = 8, OutW = 10, Mode = Bilinear, AlignCorners = False, StepH = 0.5, StepW = 0.5 }";
        Assert.That(Ops.Calls, Is.EqualTo(new[] { $"resize {geo}", $"resize grad {geo}" }));
    }

    private static Tensor Leaf(params int[] shape)
    {
        var t = Tensor.Zeros(shape, device: Fake);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Records the calls of the spatial families (the core kernels are no-ops in the base).</summary>
    private sealed class RecordingOps : RecordingDeviceOps, IDeviceOps
    {
        public void Conv2dForward(Tensor x, Tensor weight, Tensor? bias, Tensor y, Conv2dGeometry geometry) =>
            Calls.Add($"conv forward {(bias == null ? "" : "bias ")}{geometry}");
        public void Conv2dBackwardData(Tensor gradOutput, Tensor weight, Tensor gradInput, Conv2dGeometry geometry) => Calls.Add($"conv data {geometry}");
        public void Conv2dBackwardWeight(Tensor x, Tensor gradOutput, Tensor gradWeight, Conv2dGeometry geometry) => Calls.Add($"conv weight {geometry}");
        public void BatchNormStatistics(Tensor x, Tensor mean, Tensor variance) => Calls.Add("bn statistics");
        public void BatchNormUpdateRunning(Tensor mean, Tensor variance, Tensor runningMean, Tensor runningVar, double momentum, double unbias) =>
            Calls.Add($"bn update {momentum} {unbias}");
        public void BatchNormInvStd(Tensor variance, double eps, Tensor invstd) => Calls.Add($"bn invstd {eps}");
        public void BatchNormForward(Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor invstd, Tensor y, bool relu) => Calls.Add($"bn forward relu {relu}");
        public void BatchNormBackward(Tensor x, Tensor? y, Tensor gradOutput, Tensor? weight, Tensor mean, Tensor invstd, bool training,
            Tensor? gradInput, Tensor? gradWeight, Tensor? gradBias) =>
            Calls.Add($"bn backward training {training} masked {y != null}{(gradInput != null ? " x" : "")}{(gradWeight != null ? " w" : "")}{(gradBias != null ? " b" : "")}");
        public void MaxPool2dForward(Tensor x, Tensor y, Tensor indices, int kernel, int stride, int padding) =>
            Calls.Add($"max pool {kernel} {stride} {padding} -> {ShapeUtil.Format(y.Shape)}");
        public void IndexScatterAdd2d(Tensor values, Tensor indices, Tensor output) => Calls.Add($"scatter -> {ShapeUtil.Format(output.Shape)}");
        public void IndexGather2d(Tensor x, Tensor indices, Tensor y) => Calls.Add($"gather -> {ShapeUtil.Format(y.Shape)}");
        public void ResizeForward(Tensor x, Tensor y, ResizeGeometry geometry) => Calls.Add($"resize {geometry}");
        public void ResizeBackward(Tensor gradOutput, Tensor gradInput, ResizeGeometry geometry) => Calls.Add($"resize grad {geometry}");
    }
}
