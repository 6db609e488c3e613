namespace Astmt.Engine.Ops;

/// <summary>
/// Kernels a non-CPU device provides to the ops. Each op checks the device of its inputs and calls here when they are not on the
/// host; the CUDA backend (real driver or emulator) implements it. Members are added alongside the ops they serve, each op family
/// in its own part of this partial interface (with a default body that throws until its kernel exists).
/// </summary>
public partial interface IDeviceOps
{
    /// <summary>Fills a contiguous device tensor with <paramref name="value"/>.</summary>
    void Fill(Tensor t, double value);

    /// <summary><paramref name="dst"/> += <paramref name="src"/> (same shape, contiguous).</summary>
    void AddInPlace(Tensor dst, Tensor src);

    /// <summary>y = a op b with broadcasting; <paramref name="y"/> is contiguous and has the broadcast shape.</summary>
    void Binary(F.BinaryKind kind, Tensor a, Tensor b, Tensor y);

    /// <summary>Sums contiguous <paramref name="x"/> into <paramref name="y"/>, whose shape with kept dimensions is <paramref name="keptShape"/>.</summary>
    void SumTo(Tensor x, Tensor y, int[] keptShape);

    /// <summary>y = x·scale + shift, elementwise (contiguous).</summary>
    void Affine(Tensor x, double scale, double shift, Tensor y);

    /// <summary>Copies <paramref name="count"/> blocks of <paramref name="length"/> elements: block i goes from
    /// src[srcOffset + i·srcStride] to dst[dstOffset + i·dstStride] (concatenation and slicing).</summary>
    void CopyBlocks(Tensor src, int srcOffset, int srcStride, Tensor dst, int dstOffset, int dstStride, int length, int count);
}

/// <summary>Registry of device kernels, looked up by a tensor's device.</summary>
public static class DeviceOps
{
    private static readonly Dictionary<DeviceKind, IDeviceOps> Impl = new();

    /// <summary>Registers the kernels for devices of <paramref name="kind"/>.</summary>
    public static void Register(DeviceKind kind, IDeviceOps ops)
    {
        lock (Impl) Impl[kind] = ops;
    }

    /// <summary>The kernels for the device of <paramref name="t"/>.</summary>
    public static IDeviceOps For(Tensor t)
    {
        lock (Impl)
            if (Impl.TryGetValue(t.Device.Kind, out var ops)) return ops;
        throw new InvalidOperationException($"No kernels are registered for device {t.Device} (tensor {t.Describe()}).");
    }

    /// <summary>Throws a clear error unless every tensor is on the same device as the first.</summary>
    public static void CheckSameDevice(string op, Tensor a, Tensor? b, Tensor? c = null)
    {
        if (b != null && b.Device != a.Device)
            throw new ArgumentException($"{op}: tensors are on different devices: {a.Describe()} and {b.Describe()}. Move one with To(device).");
        if (c != null && c.Device != a.Device)
            throw new ArgumentException($"{op}: tensors are on different devices: {a.Describe()} and {c.Describe()}. Move one with To(device).");
    }
}
