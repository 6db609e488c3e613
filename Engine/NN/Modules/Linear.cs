using Astmt.Engine.Ops;

namespace Astmt.Engine.NN;

/// <summary>Fully connected layer, PyTorch's <c>nn.Linear</c>: x [B,In] · weightᵀ [Out,In] + bias [Out].</summary>
public sealed class Linear : Module<Tensor, Tensor>
{
    /// <summary>Creates the layer with PyTorch's default initialisation (U(±1/√in) for weight and bias).</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"Linear: feature counts must be positive, got in={inFeatures} out={outFeatures}.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var w = RegisterParameter("weight", Tensor.Empty([outFeatures, inFeatures]))!;
        var b = RegisterParameter("bias", bias ? Tensor.Empty([outFeatures]) : null);
        Init.KaimingUniform(w, a: Math.Sqrt(5), generator: generator);
        if (b != null) Init.Uniform(b, -1.0 / Math.Sqrt(inFeatures), 1.0 / Math.Sqrt(inFeatures), generator);
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Weight [Out,In].</summary>
    public Tensor Weight => GetParameter("weight")!;

    /// <summary>Bias [Out], or null.</summary>
    public Tensor? Bias => GetParameter("bias");

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input)
    {
        var y = F.Linear(input, Weight, Bias);
        FlopCounter.Current?.Add((long)(y.Numel / OutFeatures) * OutFeatures * InFeatures);
        return y;
    }

    /// <inheritdoc />
    public override string TypeName => "Linear";
}
