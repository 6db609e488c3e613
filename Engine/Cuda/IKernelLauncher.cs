namespace Astmt.Engine.Cuda;

/// <summary>A kernel resolved by name: an opaque handle of the launcher that produced it.</summary>
public readonly record struct KernelFunction(string Name, IntPtr Handle);

/// <summary>
/// Launches kernels with cuLaunchKernel's shape: function, grid, block, dynamic shared bytes and a <c>void**</c> array pointing at
/// each argument. Two implementations: the CUDA driver (<see cref="CudaContext"/>) and the CPU emulator (<see cref="EmulatorContext"/>),
/// so every caller runs the same code on both.
/// </summary>
public unsafe interface IKernelLauncher
{
    /// <summary>Resolves a kernel by its source name (all kernels are extern "C").</summary>
    KernelFunction GetFunction(string name);

    /// <summary>Launches <paramref name="function"/>; returns when the launch is queued (driver) or finished (emulator).</summary>
    void Launch(KernelFunction function, Dim3 grid, Dim3 block, uint sharedBytes, void** args);
}
