using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Astmt;

/// <summary>PyTorch's <c>nn.AdaptiveAvgPool2d(1)</c>: [B,C,H,W] → [B,C,1,1] (the ASPP image-pooling branch). No parameters.</summary>
public sealed class GlobalAvgPool : Module<Tensor, Tensor>
{
    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input) => F.GlobalAvgPool2d(input);

    /// <inheritdoc />
    public override string TypeName => "AdaptiveAvgPool2d";
}
