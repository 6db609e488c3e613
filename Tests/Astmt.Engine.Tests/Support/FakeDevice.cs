using Astmt.Engine.Memory;
using Astmt.Engine.Ops;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Support;

/// <summary>Base of fixtures that run ops on a fake CUDA device: registers <see cref="FakeDeviceBackend"/> and the fixture's
/// <see cref="RecordingDeviceOps"/> for the whole fixture, and puts back a real CUDA backend afterwards.</summary>
[NonParallelizable]
public abstract class FakeDeviceFixture
{
    /// <summary>The device the fake backend serves.</summary>
    protected static readonly Device Fake = new(DeviceKind.Cuda, 0);

    private IDeviceBackend? _previous;

    /// <summary>The kernels registered for <see cref="Fake"/> while the fixture runs.</summary>
    private protected abstract RecordingDeviceOps FakeOps { get; }

    /// <summary>Registers the fake backend and <see cref="FakeOps"/> for <see cref="Fake"/>.</summary>
    [OneTimeSetUp]
    public void RegisterFakeDevice()
    {
        // The registries are process-wide: remember a real CUDA backend (which serves as both registries) to put it back.
        try { _previous = DeviceRegistry.Get(Fake); } catch (InvalidOperationException) { _previous = null; }
        DeviceRegistry.Register(DeviceKind.Cuda, new FakeDeviceBackend(Fake));
        DeviceOps.Register(DeviceKind.Cuda, FakeOps);
    }

    /// <summary>Puts back the real CUDA backend the set-up found, if any.</summary>
    [OneTimeTearDown]
    public void RestoreRealDevice()
    {
        if (_previous == null) return;
        DeviceRegistry.Register(DeviceKind.Cuda, _previous);
        if (_previous is IDeviceOps ops) DeviceOps.Register(DeviceKind.Cuda, ops);
    }
}

/// <summary>Implements the core kernels as no-ops and keeps the calls the derived class records; a derived class re-implements
/// <see cref="IDeviceOps"/> to record the families under test, the rest keep their default bodies.</summary>
internal abstract class RecordingDeviceOps : IDeviceOps
{
    /// <summary>The calls recorded so far, one line each.</summary>
    public readonly List<string> Calls = [];
    public void Fill(Tensor t, double value) { }
    public void AddInPlace(Tensor dst, Tensor src) { }
    public void Binary(F.BinaryKind kind, Tensor a, Tensor b, Tensor y) { }
    public void SumTo(Tensor x, Tensor y, int[] keptShape) { }
    public void Affine(Tensor x, double scale, double shift, Tensor y) { }
    public void CopyBlocks(Tensor src, int srcOffset, int srcStride, Tensor dst, int dstOffset, int dstStride, int length, int count) { }
}

/// <summary>Allocates storage without memory for <paramref name="device"/>; copies do nothing.</summary>
internal sealed class FakeDeviceBackend(Device device) : IDeviceBackend
{
    public Storage Allocate(DType dtype, int length, bool clear) => Storage.FromDevice(dtype, device, length, new FakeBuffer(length * dtype.SizeOf()));
    public void Copy(Tensor source, Tensor destination) { }

    private sealed class FakeBuffer(long bytes) : IDeviceBuffer
    {
        public long Bytes => bytes;
        public void Dispose() { }
    }
}
