namespace Astmt.Engine.Cuda;

/// <summary>A kernel with launch dimensions (ManagedCuda's CudaKernel): set grid, block and dynamic shared memory, then run.</summary>
public sealed unsafe class CudaKernel(GpuContext context, string name)
{
    private readonly KernelFunction _function = context.Launcher.GetFunction(name);

    /// <summary>The kernel's source name.</summary>
    public string Name => _function.Name;

    /// <summary>Grid dimensions (blocks).</summary>
    public Dim3 GridDimensions { get; set; } = new(1);

    /// <summary>Block dimensions (threads).</summary>
    public Dim3 BlockDimensions { get; set; } = new(1);

    /// <summary>Dynamic shared memory per block, in bytes.</summary>
    public uint DynamicSharedMemory { get; set; }

    /// <summary>Launches with pre-packed arguments (no allocation).</summary>
    public void Run(in KernelArgs args)
    {
        var local = args;
        void** pointers = stackalloc void*[KernelArgs.MaxArgs];
        local.Pointers(pointers);
        context.Launcher.Launch(_function, GridDimensions, BlockDimensions, DynamicSharedMemory, pointers);
    }

    /// <summary>Launches with arguments given as objects: device variables, int, long, float, double (as float), ulong pointers, or
    /// unmanaged structs through <see cref="KernelArgs.Struct{T}"/> in the other overload.</summary>
    public void Run(params object?[] args)
    {
        var packed = new KernelArgs();
        foreach (var a in args)
        {
            packed = a switch
            {
                null => packed.Ptr(0),
                CudaDeviceVariable<float> v => packed.Ptr(v.DevicePointer),
                CudaDeviceVariable<int> v => packed.Ptr(v.DevicePointer),
                CudaDeviceVariable<uint> v => packed.Ptr(v.DevicePointer),
                CudaDeviceVariable<long> v => packed.Ptr(v.DevicePointer),
                int i => packed.Int(i),
                long l => packed.Long(l),
                float f => packed.Float(f),
                double d => packed.Float((float)d),
                ulong p => packed.Ptr(p),
                _ => throw new ArgumentException($"CudaKernel {Name}: cannot pass an argument of type {a.GetType().Name}."),
            };
        }
        Run(packed);
    }
}
