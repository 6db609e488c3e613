namespace Astmt.Engine.NN;

/// <summary>Returns its input, PyTorch's <c>nn.Identity</c>.</summary>
public sealed class Identity : Module<Tensor, Tensor>
{
    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input) => input;
}
