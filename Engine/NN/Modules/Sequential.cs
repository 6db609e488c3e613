using System.Collections;
using Astmt.Engine.Autograd;

namespace Astmt.Engine.NN;

/// <summary>Runs its children in order, PyTorch's <c>nn.Sequential</c>; children are named "0", "1", ….</summary>
public sealed class Sequential : Module<Tensor, Tensor>, IReadOnlyList<Module<Tensor, Tensor>>
{
    private readonly List<Module<Tensor, Tensor>> _layers = [];

    /// <summary>Creates the container from <paramref name="layers"/>.</summary>
    public Sequential(params Module<Tensor, Tensor>[] layers)
    {
        foreach (var layer in layers) Append(layer);
    }

    /// <summary>Appends <paramref name="layer"/> under the next index and returns this container.</summary>
    public Sequential Append(Module<Tensor, Tensor> layer)
    {
        RegisterModule(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);
        _layers.Add(layer);
        return this;
    }

    /// <summary>The layer at <paramref name="index"/> (negative counts from the end, as in Python).</summary>
    public Module<Tensor, Tensor> this[int index] => _layers[index < 0 ? _layers.Count + index : index];

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input)
    {
        var x = input;
        for (int i = 0; i < _layers.Count; i++)
        {
            Tensor y;
            // Conv2d followed by BatchNorm2d (and ReLU) runs fused in evaluation-mode inference (one pass over the output
            // instead of three); BatchNorm2d followed by ReLU runs as the fused BN+ReLU op (one tensor and two passes fewer).
            if (_layers[i] is Conv2d conv && i + 1 < _layers.Count && _layers[i + 1] is BatchNorm2d convBn)
            {
                bool relu = i + 2 < _layers.Count && _layers[i + 2] is ReLU;
                y = convBn.ForwardAfterConv(conv, x, relu);
                i += relu ? 2 : 1;
            }
            else if (_layers[i] is BatchNorm2d bn && i + 1 < _layers.Count && _layers[i + 1] is ReLU)
            {
                y = bn.ForwardRelu(x);
                i++;
            }
            else y = _layers[i].Forward(x);
            // A layer's input that an earlier layer made is dead once the layer returned (in a no-grad forward; with grad mode on
            // it is a saved activation and this does nothing), so a chain holds two activations at a time, not all of them.
            if (!ReferenceEquals(x, input) && !ReferenceEquals(x, y)) InferenceScope.ReleaseIntermediate(x);
            x = y;
        }
        return x;
    }

    /// <inheritdoc />
    public IEnumerator<Module<Tensor, Tensor>> GetEnumerator() => _layers.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string TypeName => "Sequential";
}
