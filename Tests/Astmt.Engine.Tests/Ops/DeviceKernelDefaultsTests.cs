using Astmt.Engine.Ops;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

public class DeviceKernelDefaultsTests
{
    /// <summary>A backend that provides only the core members: every conv/norm/pool/resize kernel falls back to its default.</summary>
    private sealed class CoreOnlyBackend : IDeviceOps
    {
        public void Fill(Tensor t, double value) => throw new InvalidOperationException();
        public void AddInPlace(Tensor dst, Tensor src) => throw new InvalidOperationException();
        public void Binary(F.BinaryKind kind, Tensor a, Tensor b, Tensor y) => throw new InvalidOperationException();
        public void SumTo(Tensor x, Tensor y, int[] keptShape) => throw new InvalidOperationException();
        public void Affine(Tensor x, double scale, double shift, Tensor y) => throw new InvalidOperationException();
        public void CopyBlocks(Tensor src, int srcOffset, int srcStride, Tensor dst, int dstOffset, int dstStride, int length, int count) =>
            throw new InvalidOperationException();
    }

    public static IEnumerable<TestCaseData> Kernels()
    {
        var t = Tensor.Zeros([1, 1, 2, 2]);
        var i = Tensor.Zeros([1, 1, 1, 1], DType.Int64);
        var conv = Conv2dGeometry.Create("test", 1, 1, 2, 2, 1, 1, 1, 1, 0, 1, "");
        var resize = ResizeGeometry.Create("test", [1, 1, 2, 2], 4, 4, ResizeMode.Bilinear, false, null, null);
        yield return Case("conv2d forward", o => o.Conv2dForward(t, t, null, t, conv));
        yield return Case("conv2d backward-data", o => o.Conv2dBackwardData(t, t, t, conv));
        yield return Case("conv2d backward-weight", o => o.Conv2dBackwardWeight(t, t, t, conv));
        yield return Case("batch_norm statistics", o => o.BatchNormStatistics(t, t, t));
        yield return Case("batch_norm running-statistics update", o => o.BatchNormUpdateRunning(t, t, t, t, 0.1, 1));
        yield return Case("batch_norm invstd", o => o.BatchNormInvStd(t, 1e-5, t));
        yield return Case("batch_norm forward", o => o.BatchNormForward(t, null, null, t, t, t, true));
        yield return Case("batch_norm backward", o => o.BatchNormBackward(t, null, t, null, t, t, true, t, null, null));
        yield return Case("max_pool2d forward", o => o.MaxPool2dForward(t, t, i, 2, 2, 0));
        yield return Case("index scatter-add", o => o.IndexScatterAdd2d(t, i, t));
        yield return Case("index gather", o => o.IndexGather2d(t, i, t));
        yield return Case("interpolate forward", o => o.ResizeForward(t, t, resize));
        yield return Case("interpolate backward", o => o.ResizeBackward(t, t, resize));

        static TestCaseData Case(string kernel, Action<IDeviceOps> call) => new TestCaseData(kernel, call).SetArgDisplayNames(kernel);
    }

    [TestCaseSource(nameof(Kernels))]
    public void MissingKernelThrowsNotSupportedNamingIt(string kernel, Action<IDeviceOps> call)
    {
        var ex = Assert.Throws<NotSupportedException>(() => call(new CoreOnlyBackend()));
        Assert.That(ex!.Message, Does.Contain(kernel).And.Contain(nameof(CoreOnlyBackend)).And.Contain("CPU"));
    }
}
