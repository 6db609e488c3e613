using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Astmt;

/// <summary>What the decoder returns for one task: the head's logits at stride 4 and the features the discriminator inspects.</summary>
/// <param name="Logits">conv_predict[task] output [B,n_out,H/4,W/4].</param>
/// <param name="Features">conv_process output after its SE [B,w,H/4,W/4].</param>
public readonly record struct DecoderOutput(Tensor Logits, Tensor Features);

/// <summary>
/// DeepLab-v3+ decoder of width w (spec §1.2): ASPP on layer4; layer1 reduced to 48·w/256 channels (SE reduction 4); ASPP output
/// resized bilinearly (align_corners false) to stride 4 and concatenated first; two 3×3 blocks (conv_concat, conv_process); a 1×1
/// head with bias per task. Keys: layer5, low_level_reduce, conv_concat, conv_process, conv_predict.&lt;task&gt;.
/// </summary>
public sealed class AstmtDecoder : Module
{
    private readonly Aspp _aspp;
    private readonly ConvCoupledSE _lowLevel, _concat, _process;
    private readonly ModuleDict<Conv2d> _predict;

    /// <summary>Creates the decoder.</summary>
    public AstmtDecoder(IReadOnlyList<string> tasks, IReadOnlyDictionary<string, int> outChannels, int lowChannels, int highChannels, int width,
        IReadOnlyList<int> rates, bool normPerTask, bool squeeze, bool adapters)
    {
        int lowWidth = 48 * width / 256;
        _aspp = RegisterModule("layer5", new Aspp(tasks, highChannels, width, rates, normPerTask, squeeze, adapters));
        _lowLevel = RegisterModule("low_level_reduce", new ConvCoupledSE(tasks, [new Conv2d(lowChannels, lowWidth, 1, bias: false)], normPerTask, squeeze, adapters, reduction: 4));
        _concat = RegisterModule("conv_concat", new ConvCoupledSE(tasks, [new Conv2d(width + lowWidth, width, 3, 1, 1, bias: false)], normPerTask, squeeze, adapters));
        _process = RegisterModule("conv_process", new ConvCoupledSE(tasks, [new Conv2d(width, width, 3, 1, 1, bias: false)], normPerTask, squeeze, adapters));
        _predict = RegisterModule("conv_predict", new ModuleDict<Conv2d>(tasks.Select(t => KeyValuePair.Create(t, new Conv2d(width, outChannels[t], 1, bias: true)))));
    }

    /// <summary>The ASPP module (<c>layer5</c>).</summary>
    public Aspp Aspp => _aspp;

    /// <summary>The last 3×3 block; its output is the discriminator's input.</summary>
    public ConvCoupledSE ConvProcess => _process;

    /// <summary>The per-task heads.</summary>
    public ModuleDict<Conv2d> Heads => _predict;

    /// <summary>Decodes layer1 output <paramref name="low"/> and layer4 output <paramref name="high"/> for <paramref name="task"/>.</summary>
    public DecoderOutput Forward(Tensor low, Tensor high, string task)
    {
        var xLow = _lowLevel.Forward(low, task);
        var x = _aspp.Forward(high, task);
        x = F.Interpolate(x, xLow.Shape[2], xLow.Shape[3], ResizeMode.Bilinear, alignCorners: false);
        var features = _process.Forward(_concat.Forward(F.Cat([x, xLow], 1), task), task);
        return new DecoderOutput(_predict[task].Forward(features), features);
    }

    /// <inheritdoc />
    public override string TypeName => "ASPPv3Plus";
}
