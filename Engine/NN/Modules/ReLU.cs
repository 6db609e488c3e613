using Astmt.Engine.Ops;

namespace Astmt.Engine.NN;

/// <summary>max(x, 0), PyTorch's <c>nn.ReLU</c> (no parameters; PyTorch's inplace flag has no counterpart because outputs are pooled).</summary>
public sealed class ReLU : Module<Tensor, Tensor>
{
    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input) => F.Relu(input);
}
