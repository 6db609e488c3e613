using Astmt.Engine.NN;

namespace Astmt.Models.Mtan;

/// <summary>The reference's init loop: every Conv2d gets Xavier weights and zero bias; every BatchNorm2d weight 1 and bias 0.</summary>
public static class MtanInit
{
    /// <summary>Initialises every conv and batch norm below <paramref name="network"/> from <paramref name="generator"/>, in module order.</summary>
    public static void Apply(Module network, ConvInit scheme, Generator generator)
    {
        foreach (var m in network.Modules())
        {
            switch (m)
            {
                case Conv2d conv:
                    if (scheme == ConvInit.XavierNormal) Init.XavierNormal(conv.Weight, generator: generator);
                    else Init.XavierUniform(conv.Weight, generator: generator);
                    if (conv.Bias != null) Init.Zeros(conv.Bias);
                    break;
                case BatchNorm2d bn:
                    if (bn.Weight != null) Init.Ones(bn.Weight);
                    if (bn.Bias != null) Init.Zeros(bn.Bias);
                    break;
            }
        }
    }
}
