namespace Astmt.Models.Astmt;

/// <summary>The cost of one ASTMT configuration on one image.</summary>
/// <param name="Parameters">Trainable parameters (heads, and the discriminator when present, included).</param>
/// <param name="EncoderMacs">Multiply-accumulates of one encoder pass on one image.</param>
/// <param name="DecoderTrunkMacs">Multiply-accumulates of one decoder pass without the head on one image.</param>
/// <param name="HeadMacs">Multiply-accumulates of each task's 1×1 head on one image, in task order.</param>
/// <param name="EncoderPasses">Encoder passes per image for all tasks: 1 when the encoder is task-agnostic, else T.</param>
public sealed record AstmtCost(long Parameters, long EncoderMacs, long DecoderTrunkMacs, IReadOnlyList<long> HeadMacs, int EncoderPasses)
{
    /// <summary>T.</summary>
    public int TaskCount => HeadMacs.Count;

    /// <summary>Multiply-accumulates of the decoder with the widest head (the costliest task's decoder pass).</summary>
    public long DecoderMacs => DecoderTrunkMacs + HeadMacs.Max();

    /// <summary>Multiply-accumulates per image for every task's prediction.</summary>
    public long MacsPerImage => EncoderPasses * EncoderMacs + TaskCount * DecoderTrunkMacs + HeadMacs.Sum();

    /// <summary>FLOPs (2 per multiply-accumulate) of one forward pass of the costliest task, in billions.</summary>
    public double GflopsPerTask => 2.0 * (EncoderMacs + DecoderMacs) / 1e9;

    /// <summary>FLOPs per image for all tasks, in billions.</summary>
    public double GflopsPerImage => 2.0 * MacsPerImage / 1e9;
}

/// <summary>
/// Analytic parameter and FLOP counts of an <see cref="AstmtConfig"/>, derived from the architecture rather than by building it (so
/// R-101 counts cost nothing). MACs count the convolutions and the SE's linear layers (what dominates); batch norm, ReLU, pooling,
/// additions and resizes are left out, as usual. The counts agree with the built network and with PyTorch forward hooks (tests).
/// </summary>
public static class AstmtComplexity
{
    /// <summary>The facts an <c>info</c> command prints for <paramref name="config"/> at <paramref name="height"/>×<paramref name="width"/>:
    /// the configuration, the exact parameter count in full and the FLOPs per task and per image.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Describe(AstmtConfig config, int height = 512, int width = 512)
    {
        var cost = Measure(config, height, width);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return
        [
            new("model", $"astmt-{config.Backbone.ToString().ToLowerInvariant()}"),
            new("dataset", config.Dataset.ToString()),
            new("tasks", string.Join(", ", config.TaskNames)),
            new("se-encoder", config.SeEncoder.ToString()),
            new("se-decoder", config.SeDecoder.ToString()),
            new("adapters", config.Adapters.ToString()),
            new("adversarial", config.Adversarial ? $"True (discriminator {config.DiscriminatorKernel}x{config.DiscriminatorKernel})" : "False"),
            new("output stride", config.OutputStride.ToString(inv)),
            new("parameters", cost.Parameters.ToString("N0", inv)),
            new("encoder passes per image", $"{cost.EncoderPasses} of {cost.TaskCount} tasks"),
            new($"GFLOPs per task, costliest ({height}x{width})", cost.GflopsPerTask.ToString("F2", inv)),
            new($"GFLOPs per image, all tasks ({height}x{width})", cost.GflopsPerImage.ToString("F2", inv)),
        ];
    }

    /// <summary>Trainable parameters of the network <paramref name="config"/> describes.</summary>
    public static long ParameterCount(AstmtConfig config) => Measure(config, 512, 512).Parameters;

    /// <summary>The cost of <paramref name="config"/> for <paramref name="height"/>×<paramref name="width"/> input images.</summary>
    public static AstmtCost Measure(AstmtConfig config, int height, int width)
    {
        config.Validate();
        int t = config.Tasks.Count;
        long encNormCopies = config.TaskEncoderNorm ? t : 1;
        long p = 0, encMacs = 0, decMacs = 0;

        int stem = config.StemWidth;
        int h = Out(height, 7, 2, 3, 1), w = Out(width, 7, 2, 3, 1);
        p += 3L * stem * 49 + 2L * stem;
        encMacs += 3L * stem * 49 * h * w;
        h = Out(h, 3, 2, 1, 1);
        w = Out(w, 3, 2, 1, 1);

        var strides = config.StageStrides;
        var dilations = config.StageDilations;
        int inPlanes = stem, lowChannels = 0, lowH = 0, lowW = 0;
        for (int s = 0; s < 4; s++)
        {
            int planes = config.StagePlanes[s], outC = SEBottleneck.Expansion * planes;
            for (int b = 0; b < config.Blocks[s]; b++)
            {
                int stride = b == 0 ? strides[s] : 1;
                bool down = b == 0 && SEBottleneck.NeedsProjection(inPlanes, planes, stride, dilations[s]);
                int oh = Out(h, 1, stride, 0, 1), ow = Out(w, 1, stride, 0, 1);
                long hw = (long)oh * ow;
                long convs = (long)inPlanes * planes + 9L * planes * planes + (long)planes * outC;
                p += convs + encNormCopies * (2L * planes * 2 + 2L * outC);
                encMacs += convs * hw;
                long se = Se(outC, 16, out long seMacs);
                p += (config.SeEncoder ? t : 1) * se;
                encMacs += seMacs;
                if (config.Adapters) { p += (long)t * planes * planes; encMacs += (long)planes * planes * hw; }
                if (down) { p += (long)inPlanes * outC + encNormCopies * 2L * outC; encMacs += (long)inPlanes * outC * hw; }
                inPlanes = outC;
                h = oh;
                w = ow;
            }
            if (s == 0) { lowChannels = outC; lowH = h; lowW = w; }
        }

        int dw = config.DecoderWidth, lw = 48 * dw / 256;
        long highHw = (long)h * w, lowHw = (long)lowH * lowW;
        void Block(int cin, int cout, int k, long hw, bool adapter, int reduction = 16)
        {
            p += (long)cin * cout * k * k + (config.SeDecoder ? t : 1) * 2L * cout;
            decMacs += (long)cin * cout * k * k * hw;
            if (config.SeDecoder) { p += t * Se(cout, reduction, out long m); decMacs += m; }
            if (adapter && config.Adapters) { p += (long)t * cin * cout; decMacs += (long)cin * cout * hw; }
        }
        Block(inPlanes, dw, 1, highHw, true);
        for (int r = 0; r < 3; r++) Block(inPlanes, dw, 3, highHw, true);
        Block(inPlanes, dw, 1, 1, false);
        Block(5 * dw, dw, 1, highHw, true);
        Block(lowChannels, lw, 1, lowHw, true, reduction: 4);
        Block(dw + lw, dw, 3, lowHw, true);
        Block(dw, dw, 3, lowHw, true);
        var heads = new long[t];
        for (int i = 0; i < t; i++)
        {
            p += (long)dw * config.Tasks[i].OutChannels + config.Tasks[i].OutChannels;
            heads[i] = (long)dw * config.Tasks[i].OutChannels * lowHw;
        }
        if (config.Adversarial)
        {
            int k = config.DiscriminatorKernel;
            p += (long)dw * dw * k * k + (long)dw * t * k * k + t;
        }
        return new AstmtCost(p, encMacs, decMacs, heads, config.EncoderIsTaskSpecific ? t : 1);
    }

    // Parameters of one SE MLP over c channels with reduction r; its MACs per image go to macs.
    private static long Se(int c, int reduction, out long macs)
    {
        long hidden = c / reduction;
        macs = 2 * c * hidden;
        return c * hidden + hidden + hidden * c + c;
    }

    private static int Out(int size, int kernel, int stride, int padding, int dilation) => (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}
