using Astmt.Engine;
using Astmt.Engine.Cuda;
using Astmt.Engine.Cuda.Backend;

namespace Astmt.Kernels.Tests.Support;

/// <summary>
/// The engine's CUDA backend over the emulator, as the device-level tests use it: the emu device, and the setup each such
/// test runs first.
/// </summary>
public static class EmuBackend
{
    /// <summary>
    /// Prepares the emu device for a test: skips it when the emulator library is not built, poisons uninitialised device
    /// buffers (so a kernel that reads memory nobody wrote shows up as NaN), and selects <paramref name="schedule"/>.
    /// </summary>
    public static void Start(EmulatorSchedule schedule)
    {
        _ = Emu.Context;
        CudaBackend.Initialize(new Device(DeviceKind.Emu)).PoisonUninitialized = true;
        Emu.Use(schedule);
    }
}
