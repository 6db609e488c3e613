namespace Astmt.Engine.NN;

/// <summary>Returns its input, PyTorch's <c>nn.Identity</c>.</summary>
public sealed class Identity : Module<Tensor, Tensor>
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input;
}
