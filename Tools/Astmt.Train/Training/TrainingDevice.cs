using Astmt.Engine;
using Astmt.Engine.Cuda;
using Astmt.Engine.Cuda.Backend;
using Astmt.Train.Experiments;

namespace Astmt.Train.Training;

/// <summary>
/// What <c>--device</c> means for a run: <c>cpu</c> is the host backend; <c>cuda</c> initialises the CUDA driver backend on GPU 0;
/// <c>emu</c> runs the same CUDA kernels on the CPU through the kernel emulator. The emulator executes every GPU thread in
/// software, so it is orders of magnitude slower than <c>cpu</c>: it exists to verify the device path (same losses as the CPU),
/// not to train.
/// </summary>
public static class TrainingDevice
{
    /// <summary>Initialises the backend of <paramref name="name"/> (auto, cpu, cuda or emu; auto picks cuda when a driver and a GPU are present, else cpu) and returns its device. Throws
    /// <see cref="ConfigurationException"/> (exit code 2, one line) when the device cannot be used on this machine.</summary>
    public static Device Initialize(string name)
    {
        switch (name)
        {
            case "auto":
                return CudaContext.IsAvailable(out _) ? Start(new Device(DeviceKind.Cuda)) : Device.Cpu;
            case "cpu":
                return Device.Cpu;
            case "cuda":
                if (!CudaContext.IsAvailable(out var why))
                    throw new ConfigurationException($"--device cuda: no CUDA driver/device was found ({why}); use --device cpu, or --device emu to run the CUDA kernels on the CPU emulator.");
                return Start(new Device(DeviceKind.Cuda));
            case "emu":
                if (!EmulatorContext.IsAvailable(out var missing))
                    throw new ConfigurationException($"--device emu: the kernel emulator library libastmt_emu.so could not be loaded ({missing}); rebuild with g++ on PATH, or use --device cpu.");
                return Start(new Device(DeviceKind.Emu));
            default:
                throw new ConfigurationException($"--device: '{name}' is not a device; expected auto, cpu, cuda or emu.");
        }
    }

    private static Device Start(Device device)
    {
        try
        {
            return CudaBackend.Initialize(device).Device;
        }
        catch (Exception e) when (e is InvalidOperationException or CudaException)
        {
            throw new ConfigurationException($"--device {device}: the device could not be initialised: {e.Message}; use --device cpu.", e);
        }
    }

    /// <summary><paramref name="t"/> on <paramref name="device"/>: the tensor itself when it is already there, else a new copy the
    /// caller disposes.</summary>
    public static Tensor On(Tensor t, Device device) => t.Device == device ? t : t.To(device);

    /// <summary>A host copy of <paramref name="t"/> for metrics, images and checkpoints (the tensor itself when it is on the CPU).</summary>
    public static Tensor OnHost(Tensor t) => t.Device.IsCpu ? t : t.To(Device.Cpu);
}
