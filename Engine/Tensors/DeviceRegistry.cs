using Astmt.Engine.Memory;

namespace Astmt.Engine;

/// <summary>What a non-CPU device provides to the tensor core: memory and copies. Kernels are dispatched by the ops.</summary>
public interface IDeviceBackend
{
    /// <summary>Allocates <paramref name="length"/> elements on the device, zeroed when <paramref name="clear"/>.</summary>
    Storage Allocate(DType dtype, int length, bool clear);

    /// <summary>Copies a contiguous tensor into a contiguous tensor of the same shape and dtype; either may be on the host.</summary>
    void Copy(Tensor source, Tensor destination);
}

/// <summary>Registered device backends, looked up by device.</summary>
public static class DeviceRegistry
{
    private static readonly Dictionary<DeviceKind, IDeviceBackend> Backends = new();

    /// <summary>Registers the backend that serves devices of <paramref name="kind"/>.</summary>
    public static void Register(DeviceKind kind, IDeviceBackend backend)
    {
        lock (Backends) Backends[kind] = backend;
    }

    /// <summary>The backend of <paramref name="device"/>, or a clear error when none is available.</summary>
    public static IDeviceBackend Get(Device device)
    {
        lock (Backends)
            if (Backends.TryGetValue(device.Kind, out var b)) return b;
        throw new InvalidOperationException($"No backend is registered for device {device}; use Device.Cpu, or initialise the CUDA backend first.");
    }

    /// <summary>Copies between any two devices (host to host is handled by the caller).</summary>
    internal static void Copy(Tensor source, Tensor destination)
    {
        var backend = !destination.Device.IsCpu ? Get(destination.Device) : Get(source.Device);
        backend.Copy(source, destination);
    }
}
