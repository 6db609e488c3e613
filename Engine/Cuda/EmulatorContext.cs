using System.Runtime.InteropServices;
using System.Text;
using Astmt.Engine.Cuda.Native;

namespace Astmt.Engine.Cuda;

/// <summary>Thread schedule of the emulator: the order in which a block's threads run between barriers.</summary>
public enum EmulatorSchedule
{
    /// <summary>Thread 0 first.</summary>
    Forward = 0,
    /// <summary>Last thread first (and blocks in reverse order).</summary>
    Reverse = 1,
    /// <summary>A seeded random order, reshuffled at every barrier.</summary>
    Random = 2,
}

/// <summary>
/// The CPU emulator of CUDA's execution model (Kernels/emulator): "device" memory is native host memory, launches run the
/// g++-compiled kernels with real barriers, warps of 32 and per-block shared memory, and return when finished.
/// </summary>
public sealed unsafe class EmulatorContext : GpuContext, IKernelLauncher
{
    private readonly Dictionary<string, KernelFunction> _functions = new();

    /// <summary>True when libastmt_emu.so is present; <paramref name="reason"/> says where or why not.</summary>
    public static bool IsAvailable(out string reason) => NativeLibraries.TryLoad(NativeLibraries.Emulator, out reason);

    /// <inheritdoc />
    public override DeviceKind Kind => DeviceKind.Emu;

    /// <inheritdoc />
    public override string Name => "emulator";

    /// <inheritdoc />
    public override IKernelLauncher Launcher => this;

    /// <inheritdoc />
    public override int MaxGridStrideBlocks => 8;

    /// <summary>The schedule for later launches (process-wide; the ASTMT_EMU_SCHEDULE variable sets the initial one:
    /// forward, reverse, or random[:seed]).</summary>
    public static void SetSchedule(EmulatorSchedule schedule, ulong seed = 1) => EmulatorNative.astmt_emu_set_schedule((int)schedule, seed);

    /// <summary>How many host threads run the blocks of later launches (process-wide; 0 = one per core, the default unless
    /// ASTMT_EMU_WORKERS is set). One makes float atomics across blocks add in a fixed order: launches become reproducible
    /// bit for bit, for tests whose tolerance cannot absorb a reordered sum.</summary>
    public static void SetWorkers(int workers) => EmulatorNative.astmt_emu_set_workers(workers);

    /// <summary>The schedule in force.</summary>
    public static EmulatorSchedule Schedule => (EmulatorSchedule)EmulatorNative.astmt_emu_get_schedule();

    /// <summary>Names of the kernels compiled into the emulator.</summary>
    public static IReadOnlyList<string> KernelNames
    {
        get
        {
            int n = EmulatorNative.astmt_emu_kernel_count();
            var names = new List<string>(n);
            for (int i = 0; i < n; i++) names.Add(Marshal.PtrToStringUTF8((IntPtr)EmulatorNative.astmt_emu_kernel_name(i)) ?? "");
            return names;
        }
    }

    /// <inheritdoc />
    public KernelFunction GetFunction(string name)
    {
        lock (_functions)
        {
            if (_functions.TryGetValue(name, out var f)) return f;
            var bytes = Encoding.UTF8.GetBytes(name + "\0");
            IntPtr handle;
            fixed (byte* p = bytes) Check(EmulatorNative.astmt_emu_get_function(p, out handle), "astmt_emu_get_function", $"name={name}");
            f = new KernelFunction(name, handle);
            _functions[name] = f;
            return f;
        }
    }

    /// <inheritdoc />
    public void Launch(KernelFunction function, Dim3 grid, Dim3 block, uint sharedBytes, void** args)
    {
        KernelLaunchLog.Before(function, grid, block, sharedBytes);
        var timer = KernelTimer;
        var interval = timer?.Begin(function.Name);
        Check(EmulatorNative.astmt_emu_launch(function.Handle, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, sharedBytes, args),
            "astmt_emu_launch", $"{function.Name}, grid={grid}, block={block}, shared={sharedBytes}");
        if (interval != null) timer!.End(function.Name, interval);
        KernelLaunchLog.After(function);
    }

    /// <inheritdoc />
    public override IDeviceInterval CreateInterval() => new HostInterval();

    /// <inheritdoc />
    public override string IntervalClock => "host clock (the emulator runs each launch to completion on the CPU: these times say nothing about a GPU)";

    /// <inheritdoc />
    protected internal override ulong RawAllocate(long bytes) => (ulong)NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 256);

    /// <inheritdoc />
    protected internal override void RawFree(ulong pointer) => NativeMemory.AlignedFree((void*)pointer);

    /// <inheritdoc />
    public override void CopyHostToDevice(ulong destination, void* source, long bytes) => Buffer.MemoryCopy(source, (void*)destination, bytes, bytes);

    /// <inheritdoc />
    public override void CopyDeviceToHost(void* destination, ulong source, long bytes) => Buffer.MemoryCopy((void*)source, destination, bytes, bytes);

    /// <inheritdoc />
    public override void CopyDeviceToDevice(ulong destination, ulong source, long bytes) => Buffer.MemoryCopy((void*)source, (void*)destination, bytes, bytes);

    /// <inheritdoc />
    public override void Memset32(ulong destination, uint value, long count) => new Span<uint>((void*)destination, checked((int)count)).Fill(value);

    /// <inheritdoc />
    public override void Synchronize() { }

    private static void Check(int result, string call, string arguments)
    {
        if (result == 0) return;
        string message = Marshal.PtrToStringUTF8((IntPtr)EmulatorNative.astmt_emu_last_error()) ?? "unknown error";
        throw new EmulatorException(call, arguments, result, message);
    }
}
