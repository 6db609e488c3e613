using Astmt.Engine.Cuda;
using NUnit.Framework;

namespace Astmt.Kernels.Tests.Support;

/// <summary>
/// The shared emulator context of the tests, and helpers to upload, launch and download. Each kernel test runs under several
/// thread schedules (<see cref="Schedules"/>): a kernel that misses a barrier gives a different answer under one of them.
/// </summary>
public static class Emu
{
    private static readonly Lazy<EmulatorContext> Shared = new(() => new EmulatorContext());

    /// <summary>The schedules every kernel test runs under.</summary>
    public static readonly EmulatorSchedule[] Schedules = [EmulatorSchedule.Forward, EmulatorSchedule.Reverse, EmulatorSchedule.Random];

    /// <summary>The emulator context; skips the test (Inconclusive → ignored) when the library was not built.</summary>
    public static EmulatorContext Context
    {
        get
        {
            if (!EmulatorContext.IsAvailable(out var why)) Assert.Ignore($"The kernel emulator is not built: {why}.");
            return Shared.Value;
        }
    }

    /// <summary>Selects a schedule (random ones use a fixed seed so failures reproduce).</summary>
    public static void Use(EmulatorSchedule schedule) => EmulatorContext.SetSchedule(schedule, 20261130);

    /// <summary>Uploads floats.</summary>
    public static CudaDeviceVariable<float> Up(float[] host) => new(Context, host);

    /// <summary>Uploads doubles as floats.</summary>
    public static CudaDeviceVariable<float> Up(double[] host) => new(Context, Array.ConvertAll(host, v => (float)v));

    /// <summary>Uploads int64 values.</summary>
    public static CudaDeviceVariable<long> Up(long[] host) => new(Context, host);

    /// <summary>A zeroed float buffer.</summary>
    public static CudaDeviceVariable<float> Zeros(long n)
    {
        var v = new CudaDeviceVariable<float>(Context, n);
        v.Clear();
        return v;
    }

    /// <summary>A buffer filled with NaN, so an element the kernel forgets to write shows up.</summary>
    public static CudaDeviceVariable<float> Poisoned(long n)
    {
        var v = new CudaDeviceVariable<float>(Context, n);
        Context.Memset32(v.DevicePointer, 0x7fc00000u, n);
        return v;
    }

    /// <summary>Downloads as doubles.</summary>
    public static double[] Down(CudaDeviceVariable<float> v) => Array.ConvertAll(v.ToArray(), x => (double)x);

    /// <summary>Launches <paramref name="kernel"/> with grid, block and dynamic shared memory.</summary>
    public static void Launch(string kernel, Dim3 grid, Dim3 block, uint shared, params object?[] args)
    {
        var k = new CudaKernel(Context, kernel) { GridDimensions = grid, BlockDimensions = block, DynamicSharedMemory = shared };
        k.Run(args);
    }

    /// <summary>Launches a grid-stride kernel with 256-thread blocks and a few blocks (so the stride loop is exercised).</summary>
    public static void LaunchElements(string kernel, long n, params object?[] args) =>
        Launch(kernel, new Dim3((uint)Math.Clamp((n + 255) / 256, 1, 3)), new Dim3(256), 0, args);
}
