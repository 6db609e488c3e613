using Astmt.Engine.Ops;

namespace Astmt.Engine.NN;

/// <summary>2-D convolution, PyTorch's <c>nn.Conv2d</c>: weight [K,C,R,S] and optional bias [K]; x [B,C,H,W] → [B,K,P,Q].</summary>
public sealed class Conv2d : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer with PyTorch's default initialisation (Kaiming uniform with a = √5 for the weight, U(±1/√fan_in)
    /// for the bias), drawn from <paramref name="generator"/> or <see cref="Generator.Default"/>.</summary>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1, bool bias = true,
        Generator? generator = null)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || dilation <= 0 || padding < 0)
            throw new ArgumentException($"Conv2d: invalid configuration in={inChannels} out={outChannels} kernel={kernelSize} stride={stride} " +
                                        $"padding={padding} dilation={dilation}; sizes, stride and dilation must be positive and padding non-negative.");
        InChannels = inChannels;
        OutChannels = outChannels;
        KernelSize = kernelSize;
        Stride = stride;
        Padding = padding;
        Dilation = dilation;
        var w = RegisterParameter("weight", Tensor.Empty([outChannels, inChannels, kernelSize, kernelSize]))!;
        var b = RegisterParameter("bias", bias ? Tensor.Empty([outChannels]) : null);
        Init.KaimingUniform(w, a: Math.Sqrt(5), generator: generator);
        if (b != null)
        {
            double bound = 1.0 / Math.Sqrt(inChannels * kernelSize * kernelSize);
            Init.Uniform(b, -bound, bound, generator);
        }
    }

    /// <summary>Input channels C.</summary>
    public int InChannels { get; }

    /// <summary>Output channels K.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel size (R = S).</summary>
    public int KernelSize { get; }

    /// <summary>Stride in both directions.</summary>
    public int Stride { get; }

    /// <summary>Zero padding on each side.</summary>
    public int Padding { get; }

    /// <summary>Dilation of the kernel.</summary>
    public int Dilation { get; }

    /// <summary>Weight [K,C,R,S].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>Bias [K], or null when the layer has none.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input) => Counted(F.Conv2d(input, Weight, Bias, Stride, Padding, Dilation));

    /// <summary>Adds this layer's multiply-accumulates for output <paramref name="y"/> to the active <see cref="FlopCounter"/>
    /// (also for a fused op that ran this convolution) and returns <paramref name="y"/>.</summary>
    internal Tensor Counted(Tensor y)
    {
        // B·K·P·Q outputs, each a dot product over C·R·S taps.
        FlopCounter.Current?.Add((long)y.Shape[0] * OutChannels * y.Shape[2] * y.Shape[3] * InChannels * KernelSize * KernelSize);
        return y;
    }

    /// <inheritdoc />
    public override string TypeName => "Conv2d";
}
