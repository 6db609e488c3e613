using Astmt.Engine;

namespace Astmt.Models.Mtan;

/// <summary>The shared SegNet's intermediate tensors, indexed by stage (decoder arrays by decoder step).</summary>
public sealed class SegNetFeatures
{
    /// <summary>gE[i][0]: first conv output of encoder stage i (the attention mask input).</summary>
    public Tensor[] EncoderFirst { get; } = new Tensor[5];

    /// <summary>gE[i][1]: last conv output of encoder stage i (the gated feature).</summary>
    public Tensor[] EncoderLast { get; } = new Tensor[5];

    /// <summary>gMax[i]: pooled encoder output.</summary>
    public Tensor[] Pooled { get; } = new Tensor[5];

    /// <summary>Pooling indices of encoder stage i.</summary>
    public Tensor[] Indices { get; } = new Tensor[5];

    /// <summary>gUp[i]: unpooled decoder input at step i.</summary>
    public Tensor[] Unpooled { get; } = new Tensor[5];

    /// <summary>gD[i][0]: first conv output of decoder step i.</summary>
    public Tensor[] DecoderFirst { get; } = new Tensor[5];

    /// <summary>gD[i][1]: last conv output of decoder step i.</summary>
    public Tensor[] DecoderLast { get; } = new Tensor[5];
}
