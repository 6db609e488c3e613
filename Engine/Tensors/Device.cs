namespace Astmt.Engine;

/// <summary>Kind of device a tensor lives on.</summary>
public enum DeviceKind
{
    /// <summary>Host memory, computed by the CPU backend.</summary>
    Cpu,
    /// <summary>A real CUDA device through the driver API.</summary>
    Cuda,
    /// <summary>The CPU emulator of CUDA's execution model, running the same kernel sources.</summary>
    Emu,
}

/// <summary>A device: its kind and ordinal. Tensors move between devices only through <see cref="Tensor.To(Device)"/>.</summary>
public readonly record struct Device(DeviceKind Kind, int Index = 0)
{
    /// <summary>The host CPU.</summary>
    public static readonly Device Cpu = new(DeviceKind.Cpu);

    /// <summary>True when this is the host CPU.</summary>
    public bool IsCpu => Kind == DeviceKind.Cpu;

    /// <summary>Parses <c>cpu</c>, <c>cuda</c>, <c>cuda:1</c> or <c>emu</c>.</summary>
    public static Device Parse(string text)
    {
        var parts = text.Trim().ToLowerInvariant().Split(':');
        int index = parts.Length > 1 && int.TryParse(parts[1], out var i) ? i : 0;
        return parts[0] switch
        {
            "cpu" => Cpu,
            "cuda" => new Device(DeviceKind.Cuda, index),
            "emu" => new Device(DeviceKind.Emu, index),
            _ => throw new ArgumentException($"Unknown device '{text}'; expected cpu, cuda, cuda:N or emu."),
        };
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        DeviceKind.Cpu => "cpu",
        DeviceKind.Cuda => $"cuda:{Index}",
        _ => "emu",
    };
}
