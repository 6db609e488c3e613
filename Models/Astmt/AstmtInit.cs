using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;

namespace Astmt.Models.Astmt;

/// <summary>The reference's initialisation (spec §1.7, step 1): every conv weight N(0, 0.01); batch norms γ = 1, β = 0; Linear
/// weights Kaiming normal (fan in, gain √2) with zero bias; conv biases PyTorch's default U(±1/√fan_in); adapters zero, so the
/// untrained network equals the shared one.</summary>
public static class AstmtInit
{
    /// <summary>Initialises every parameter of <paramref name="network"/> from <paramref name="generator"/>, in module order.</summary>
    public static void Apply(Module network, Generator generator)
    {
        using var _ = Autograd.NoGrad();
        foreach (var (name, m) in network.NamedModules())
        {
            switch (m)
            {
                case Conv2d conv:
                    if (IsAdapter(name)) Init.Zeros(conv.Weight);
                    else Init.Normal(conv.Weight, 0, 0.01, generator);
                    if (conv.Bias is { } b)
                    {
                        double bound = 1.0 / Math.Sqrt(conv.InChannels * conv.KernelSize * conv.KernelSize);
                        Init.Uniform(b, -bound, bound, generator);
                    }
                    break;
                case BatchNorm2d bn:
                    if (bn.Weight is { } w) Init.Ones(w);
                    if (bn.Bias is { } bias) Init.Zeros(bias);
                    if (bn.RunningMean is { } rm) Init.Zeros(rm);
                    if (bn.RunningVar is { } rv) Init.Ones(rv);
                    break;
                case Linear linear:
                    Init.KaimingNormal(linear.Weight, generator: generator);
                    if (linear.Bias is { } lb) Init.Zeros(lb);
                    break;
            }
        }
    }

    /// <summary>True for a residual adapter's conv (<c>….adapt.&lt;task&gt;</c>).</summary>
    public static bool IsAdapter(string moduleName) => moduleName.Split('.').Contains("adapt");
}
