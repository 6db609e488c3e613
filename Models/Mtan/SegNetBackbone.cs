using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Mtan;

/// <summary>
/// The shared SegNet of spec §1.3 (VGG16-like encoder, mirrored decoder with max-unpooling). The four module lists are registered
/// on the network itself, first, so their keys are top-level (<c>encoder_block.0.0.weight</c>) as in the reference.
/// </summary>
public abstract class SegNetBackbone : MultiTaskNetwork
{
    /// <summary>Registers encoder_block, decoder_block, conv_block_enc and conv_block_dec for <paramref name="filters"/> (5 widths).</summary>
    protected SegNetBackbone(IReadOnlyList<MtanTask> tasks, int classCount, IReadOnlyList<int> filters, bool deep)
        : base(tasks, classCount)
    {
        if (filters.Count != 5) throw new ArgumentException($"{GetType().Name}: expected 5 filter widths, got {filters.Count}.");
        var f = filters;
        Filters = filters;
        var encoder = new ModuleList<Sequential>([SegNetLayers.ConvLayer(3, f[0], deep)]);
        var decoder = new ModuleList<Sequential>([SegNetLayers.ConvLayer(f[0], f[0], deep)]);
        for (int i = 0; i < 4; i++)
        {
            encoder.Append(SegNetLayers.ConvLayer(f[i], f[i + 1], deep));
            decoder.Append(SegNetLayers.ConvLayer(f[i + 1], f[i], deep));
        }
        var convEnc = new ModuleList<Sequential>([SegNetLayers.ConvLayer(f[0], f[0], deep)]);
        var convDec = new ModuleList<Sequential>([SegNetLayers.ConvLayer(f[0], f[0], deep)]);
        for (int i = 0; i < 4; i++)
        {
            if (i == 0)
            {
                convEnc.Append(SegNetLayers.ConvLayer(f[i + 1], f[i + 1], deep));
                convDec.Append(SegNetLayers.ConvLayer(f[i], f[i], deep));
            }
            else
            {
                convEnc.Append(new Sequential(SegNetLayers.ConvLayer(f[i + 1], f[i + 1], deep), SegNetLayers.ConvLayer(f[i + 1], f[i + 1], deep)));
                convDec.Append(new Sequential(SegNetLayers.ConvLayer(f[i], f[i], deep), SegNetLayers.ConvLayer(f[i], f[i], deep)));
            }
        }
        EncoderBlock = RegisterModule("encoder_block", encoder);
        DecoderBlock = RegisterModule("decoder_block", decoder);
        ConvBlockEnc = RegisterModule("conv_block_enc", convEnc);
        ConvBlockDec = RegisterModule("conv_block_dec", convDec);
    }

    /// <summary>The five stage widths.</summary>
    public IReadOnlyList<int> Filters { get; }

    /// <summary>First conv of each encoder stage.</summary>
    public ModuleList<Sequential> EncoderBlock { get; }

    /// <summary>First conv of each decoder stage (index = 4 − decoder step).</summary>
    public ModuleList<Sequential> DecoderBlock { get; }

    /// <summary>Remaining convs of each encoder stage.</summary>
    public ModuleList<Sequential> ConvBlockEnc { get; }

    /// <summary>Remaining convs of each decoder stage (index = 4 − decoder step).</summary>
    public ModuleList<Sequential> ConvBlockDec { get; }

    /// <summary>Runs the shared SegNet (spec §1.3 forward) and returns every tensor the attention branches read. In a no-grad
    /// forward, features the caller does not read are released as soon as they are dead (see <see cref="InferenceScope"/>):
    /// without <paramref name="keepAttentionInputs"/> only <c>DecoderLast[4]</c> stays readable; with it the attention inputs
    /// (<c>EncoderFirst</c>, <c>EncoderLast</c>, <c>Unpooled</c>, <c>DecoderLast</c>) do too.</summary>
    protected SegNetFeatures RunShared(Tensor x, bool keepAttentionInputs = false)
    {
        var s = new SegNetFeatures();
        for (int i = 0; i < 5; i++)
        {
            s.EncoderFirst[i] = EncoderBlock[i].Forward(i == 0 ? x : s.Pooled[i - 1]);
            if (i > 0) InferenceScope.ReleaseIntermediate(s.Pooled[i - 1]);
            s.EncoderLast[i] = ConvBlockEnc[i].Forward(s.EncoderFirst[i]);
            if (!keepAttentionInputs) InferenceScope.ReleaseIntermediate(s.EncoderFirst[i]);
            (s.Pooled[i], s.Indices[i]) = F.MaxPool2dWithIndices(s.EncoderLast[i], 2, 2);
            if (!keepAttentionInputs) InferenceScope.ReleaseIntermediate(s.EncoderLast[i]);
        }
        for (int i = 0; i < 5; i++)
        {
            var input = i == 0 ? s.Pooled[4] : s.DecoderLast[i - 1];
            s.Unpooled[i] = Unpool(input, s.Indices[4 - i]);
            InferenceScope.ReleaseIntermediate(s.Indices[4 - i]);
            if (i == 0) InferenceScope.ReleaseIntermediate(s.Pooled[4]);
            else if (!keepAttentionInputs) InferenceScope.ReleaseIntermediate(s.DecoderLast[i - 1]);
            s.DecoderFirst[i] = DecoderBlock[4 - i].Forward(s.Unpooled[i]);
            if (!keepAttentionInputs) InferenceScope.ReleaseIntermediate(s.Unpooled[i]);
            s.DecoderLast[i] = ConvBlockDec[4 - i].Forward(s.DecoderFirst[i]);
            InferenceScope.ReleaseIntermediate(s.DecoderFirst[i]);
        }
        return s;
    }

    /// <summary>MaxUnpool2d(2, 2): the output is twice the input size, as PyTorch computes it.</summary>
    internal static Tensor Unpool(Tensor x, Tensor indices) => F.MaxUnpool2d(x, indices, 2 * x.Shape[2], 2 * x.Shape[3]);

    /// <summary>Filter widths scaled by <paramref name="width"/> (at least one channel each).</summary>
    public static int[] ScaleFilters(IReadOnlyList<int> baseFilters, double width)
    {
        if (!(width > 0)) throw new ArgumentOutOfRangeException(nameof(width), width, "The width multiplier must be positive.");
        return baseFilters.Select(c => Math.Max(1, (int)Math.Round(c * width))).ToArray();
    }
}
