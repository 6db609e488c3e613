using Astmt.Engine;
using Astmt.Engine.NN;

namespace Astmt.Models.Astmt;

/// <summary>
/// The task discriminator (spec §2.1, reference <c>FullyConvDiscriminator</c>, depth 2): conv k×k w→w without bias → ReLU →
/// conv k×k w→T with bias, padding (k−1)/2. Per pixel it predicts which task's loss produced a normalised gradient.
/// Keys: <c>model.0.weight</c>, <c>model.2.weight</c>, <c>model.2.bias</c>.
/// </summary>
public sealed class AstmtDiscriminator : Module<Tensor, Tensor>
{
    private readonly Sequential _model;

    /// <summary>Creates the discriminator over <paramref name="width"/> channels for <paramref name="taskCount"/> tasks with an odd
    /// <paramref name="kernel"/>.</summary>
    public AstmtDiscriminator(int width, int taskCount, int kernel)
    {
        if (kernel < 1 || kernel % 2 == 0) throw new ArgumentException($"AstmtDiscriminator: the kernel must be odd and positive (1 on PASCAL, 3 on NYUD), got {kernel}.");
        Kernel = kernel;
        int pad = (kernel - 1) / 2;
        _model = RegisterModule("model", new Sequential(
            new Conv2d(width, width, kernel, 1, pad, bias: false), new ReLU(), new Conv2d(width, taskCount, kernel, 1, pad, bias: true)));
    }

    /// <summary>Kernel size k.</summary>
    public int Kernel { get; }

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor input) => _model.Forward(input);

    /// <inheritdoc />
    public override string TypeName => "FullyConvDiscriminator";
}
