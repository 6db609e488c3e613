using Astmt.Engine.Memory;
using Astmt.Engine.Ops;

namespace Astmt.Engine.Cuda.Backend;

/// <summary>
/// The device backend of the cuda and emu devices: tensor memory from the context's caching allocator, host/device copies, and
/// every <see cref="IDeviceOps"/> kernel launched through the context's <see cref="IKernelLauncher"/> (driver or emulator), so
/// both devices run the same Kernels/*.cu code. Float32 tensors (and Int64 indices) only.
/// </summary>
public sealed unsafe partial class CudaBackend : IDeviceBackend, IDeviceOps
{
    private const int ThreadsPerBlock = 256;
    private static readonly Dictionary<DeviceKind, CudaBackend> Active = new();

    private readonly Dictionary<string, KernelFunction> _functions = new();

    /// <summary>A backend over <paramref name="context"/> (not registered; see <see cref="Register"/>).</summary>
    public CudaBackend(GpuContext context) => Context = context;

    /// <summary>The context kernels run on.</summary>
    public GpuContext Context { get; }

    /// <summary>The device tensors of this backend report.</summary>
    public Device Device => new(Context.Kind, Context is CudaContext c ? c.Ordinal : 0);

    /// <summary>Registers <paramref name="backend"/> for its device kind in <see cref="DeviceRegistry"/> and <see cref="DeviceOps"/>.</summary>
    public static void Register(CudaBackend backend)
    {
        lock (Active) Active[backend.Context.Kind] = backend;
        DeviceRegistry.Register(backend.Context.Kind, backend);
        DeviceOps.Register(backend.Context.Kind, backend);
    }

    /// <summary>Creates and registers the backend for <paramref name="device"/> (cuda: driver context; emu: the emulator), once per
    /// kind. Throws a clear error when the driver, a GPU or the emulator library is missing.</summary>
    public static CudaBackend Initialize(Device device)
    {
        lock (Active)
        {
            if (Active.TryGetValue(device.Kind, out var existing)) return existing;
            GpuContext context = device.Kind switch
            {
                DeviceKind.Cuda => CudaContext.IsAvailable(out var why) ? new CudaContext(device.Index)
                    : throw new InvalidOperationException($"Device {device} is not available: {why}."),
                DeviceKind.Emu => EmulatorContext.IsAvailable(out var why) ? new EmulatorContext()
                    : throw new InvalidOperationException($"Device emu is not available: {why}."),
                _ => throw new ArgumentException($"CudaBackend serves cuda and emu devices, not {device}."),
            };
            var backend = new CudaBackend(context);
            Register(backend);
            return backend;
        }
    }

    /// <summary>The default device: cuda when a driver and a device are present, else cpu.</summary>
    public static Device DefaultDevice() => CudaContext.IsAvailable(out _) ? new Device(DeviceKind.Cuda) : Device.Cpu;

    // ------------------------------------------------------------------ memory

    /// <summary>When true, memory allocated without clearing is filled with NaN, so an op or kernel that reads an element
    /// nobody wrote shows it in its result (tests turn this on; ASTMT_POISON_DEVICE=1 does too).</summary>
    public bool PoisonUninitialized { get; set; } = Environment.GetEnvironmentVariable("ASTMT_POISON_DEVICE") == "1";

    /// <inheritdoc />
    public Storage Allocate(DType dtype, int length, bool clear)
    {
        long bytes = (long)length * dtype.SizeOf();
        ulong p = Context.Allocator.Allocate(bytes, out long rounded);
        if (clear && bytes > 0) Context.Memset32(p, 0, (bytes + 3) / 4);
        else if (PoisonUninitialized && bytes > 0) Context.Memset32(p, 0x7fc00000u, (bytes + 3) / 4);
        return Storage.FromDevice(dtype, Device, length, new GpuBuffer(Context, p, rounded));
    }

    /// <inheritdoc />
    public void Copy(Tensor source, Tensor destination)
    {
        if (!source.IsContiguous && destination.IsContiguous && source.Device == destination.Device && source.DType == DType.Float32
            && ShapeUtil.Same(source.Shape, destination.Shape))
        {
            GatherStrided(source, destination);
            return;
        }
        if (!source.IsContiguous || !destination.IsContiguous)
            throw new ArgumentException($"Device copy needs contiguous tensors; got {source.Describe()} → {destination.Describe()}.");
        if (source.DType != destination.DType || source.Numel != destination.Numel)
            throw new ArgumentException($"Device copy: {source.Describe()} cannot be copied into {destination.Describe()}.");
        long bytes = (long)source.Numel * source.DType.SizeOf();
        if (bytes == 0) return;
        if (source.Device.IsCpu)
        {
            fixed (byte* h = HostBytes(source)) Context.CopyHostToDevice(Ptr(destination), h, bytes);
        }
        else if (destination.Device.IsCpu)
        {
            CheckMine(source);
            fixed (byte* h = HostBytes(destination)) Context.CopyDeviceToHost(h, Ptr(source), bytes);
        }
        else
        {
            if (source.Device != destination.Device)
                throw new ArgumentException($"Copy between {source.Device} and {destination.Device} must go through the host: To(Device.Cpu) first.");
            Context.CopyDeviceToDevice(Ptr(destination), Ptr(source), bytes);
        }
    }

    private static Span<byte> HostBytes(Tensor t)
    {
        int size = t.DType.SizeOf();
        var bytes = t.DType switch
        {
            DType.Float32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Span<float>()),
            DType.Float64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Span<double>()),
            _ => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Span<long>()),
        };
        return bytes[..(t.Numel * size)];
    }

    private void CheckMine(Tensor t)
    {
        if (t.Device.Kind != Context.Kind)
            throw new ArgumentException($"Tensor {t.Describe()} is not on {Device}; move it with To({Device}).");
    }

    /// <summary>Device address of <paramref name="t"/>'s first element.</summary>
    internal ulong Ptr(Tensor t)
    {
        CheckMine(t);
        var buffer = t.Storage.DeviceBuffer as GpuBuffer
            ?? throw new InvalidOperationException($"Tensor {t.Describe()} has no device buffer of this backend.");
        return buffer.Pointer + (ulong)((long)t.Offset * t.DType.SizeOf());
    }

    /// <summary>Device address of an optional tensor, 0 for null.</summary>
    internal ulong PtrOrNull(Tensor? t) => t == null ? 0 : Ptr(Dense("optional operand", t));

    /// <summary>The pointer of a float32 tensor that must be dense (the ops pass dense operands).</summary>
    internal ulong F32(string op, Tensor t) => Ptr(Dense(op, t));

    private static Tensor Dense(string op, Tensor t)
    {
        if (t.DType != DType.Float32 && t.DType != DType.Int64)
            throw new NotSupportedException($"{op} on the device supports float32 tensors (and int64 indices); got {t.Describe()}.");
        if (!t.IsContiguous) throw new ArgumentException($"{op} on the device expects a contiguous tensor; got a strided view {t.Describe()}.");
        return t;
    }

    // ------------------------------------------------------------------ launching

    private KernelFunction Function(string kernel)
    {
        lock (_functions)
        {
            if (!_functions.TryGetValue(kernel, out var f)) _functions[kernel] = f = Context.Launcher.GetFunction(kernel);
            return f;
        }
    }

    /// <summary>Launches a kernel with explicit grid and block.</summary>
    internal void Launch(string kernel, Dim3 grid, Dim3 block, uint sharedBytes, in KernelArgs args)
    {
        var local = args;
        void** pointers = stackalloc void*[KernelArgs.MaxArgs];
        local.Pointers(pointers);
        Context.Launcher.Launch(Function(kernel), grid, block, sharedBytes, pointers);
    }

    /// <summary>Launches a grid-stride kernel over <paramref name="n"/> items with 256-thread blocks.</summary>
    internal void LaunchElements(string kernel, long n, in KernelArgs args)
    {
        if (n <= 0) return;
        long blocks = Math.Min((n + ThreadsPerBlock - 1) / ThreadsPerBlock, Context.MaxGridStrideBlocks);
        Launch(kernel, new Dim3((uint)blocks), new Dim3(ThreadsPerBlock), 0, args);
    }

    /// <summary>Launches one 256-thread block per item (per channel, per sample).</summary>
    internal void LaunchPerItem(string kernel, int items, uint sharedBytes, in KernelArgs args)
    {
        if (items <= 0) return;
        Launch(kernel, new Dim3((uint)items), new Dim3(ThreadsPerBlock), sharedBytes, args);
    }

    /// <summary>A temporary float32 device buffer (from the caching allocator).</summary>
    internal CudaDeviceVariable<float> Temp(long count) => new(Context, count);
}
