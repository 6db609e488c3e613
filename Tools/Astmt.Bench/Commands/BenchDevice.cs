using Astmt.Engine;
using Astmt.Engine.Cuda;
using Astmt.Engine.Cuda.Backend;

namespace Astmt.Bench.Commands;

/// <summary>
/// <c>--device auto|cpu|cuda|emu</c> for the timing commands: initialises the backend and waits for the device where a timed region
/// ends (kernel launches are asynchronous on cuda). <c>auto</c> is cuda when a driver and a device are present, else cpu (as in the
/// trainer). <c>emu</c> runs the CUDA kernels on the CPU emulator: its times say nothing
/// about a GPU; it is there to check that the device path runs end to end.
/// </summary>
internal static class BenchDevice
{
    /// <summary>The device named <paramref name="name"/>, with its backend initialised; throws <see cref="ArgumentException"/> (exit
    /// code 2, one line) when it is not available here.</summary>
    public static Device Initialize(string name)
    {
        switch (name)
        {
            case "auto":
                return Initialize(CudaContext.IsAvailable(out _) ? "cuda" : "cpu");
            case "cpu":
                return Device.Cpu;
            case "cuda":
                if (!CudaContext.IsAvailable(out var why))
                    throw new ArgumentException($"--device cuda: no CUDA driver/device was found ({why}); use --device cpu, or --device emu to run the CUDA kernels on the CPU emulator.");
                return CudaBackend.Initialize(new Device(DeviceKind.Cuda)).Device;
            case "emu":
                if (!EmulatorContext.IsAvailable(out var missing))
                    throw new ArgumentException($"--device emu: the kernel emulator library could not be loaded ({missing}); use --device cpu.");
                return CudaBackend.Initialize(new Device(DeviceKind.Emu)).Device;
            default:
                throw new ArgumentException($"--device must be auto, cpu, cuda or emu, got '{name}'.");
        }
    }

    /// <summary>The context of a cuda or emu <paramref name="device"/> (initialised by <see cref="Initialize"/>).</summary>
    public static GpuContext Context(Device device) => CudaBackend.Initialize(device).Context;

    /// <summary>Waits until the work queued on <paramref name="device"/> has finished (nothing to wait for on the CPU).</summary>
    public static void Synchronize(Device device)
    {
        if (!device.IsCpu) CudaBackend.Initialize(device).Context.Synchronize();
    }
}
