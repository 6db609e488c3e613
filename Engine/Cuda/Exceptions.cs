namespace Astmt.Engine.Cuda;

/// <summary>A CUDA driver call failed: names the call, its arguments, and the driver's error name and text.</summary>
public sealed class CudaException(string call, string arguments, int code, string errorName, string errorText)
    : Exception($"{call}({arguments}) failed with {errorName} ({code}): {errorText}")
{
    /// <summary>The driver function that failed.</summary>
    public string Call { get; } = call;
    /// <summary>The CUresult code.</summary>
    public int Code { get; } = code;
}

/// <summary>NVRTC failed: names the call, the source file and architecture, and carries the compiler log.</summary>
public sealed class NvrtcException(string call, string arguments, int code, string errorText, string log)
    : Exception($"{call}({arguments}) failed with {errorText} ({code}).{(log.Length > 0 ? "\n" + log : "")}")
{
    /// <summary>The NVRTC function that failed.</summary>
    public string Call { get; } = call;
    /// <summary>The compiler log (empty when there is none).</summary>
    public string Log { get; } = log;
}

/// <summary>The kernel emulator rejected a launch or a kernel misbehaved (deadlock at a barrier, unknown kernel).</summary>
public sealed class EmulatorException(string call, string arguments, int code, string message)
    : Exception($"{call}({arguments}) failed ({code}): {message}")
{
    /// <summary>The emulator function that failed.</summary>
    public string Call { get; } = call;
}
