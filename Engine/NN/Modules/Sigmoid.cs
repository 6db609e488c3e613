using Astmt.Engine.Ops;

namespace Astmt.Engine.NN;

/// <summary>1 / (1 + e^−x), PyTorch's <c>nn.Sigmoid</c>.</summary>
public sealed class Sigmoid : Module<Tensor, Tensor>
{
    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input) => F.Sigmoid(input);
}
