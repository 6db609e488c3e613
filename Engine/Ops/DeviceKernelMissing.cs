namespace Astmt.Engine.Ops;

/// <summary>The error a device backend raises for an op whose kernel it does not provide yet.</summary>
internal static class DeviceKernelMissing
{
    /// <summary>A NotSupportedException naming the kernel, the device and the tensor that asked for it.</summary>
    public static NotSupportedException Error(string kernel, Tensor t) =>
        new($"The '{kernel}' kernel is not implemented for device {t.Device} (tensor {t.Describe()}). " +
            "Run this op on the CPU (To(Device.Cpu)) until the device backend provides it.");

    /// <summary>A NotSupportedException naming the kernel and the backend that lacks it.</summary>
    public static NotSupportedException For(IDeviceOps backend, string kernel) =>
        new($"The device backend {backend.GetType().Name} has no '{kernel}' kernel yet. Run this op on the CPU (move the tensors with To(Device.Cpu)) " +
            "or implement the kernel in the backend's IDeviceOps.");
}
