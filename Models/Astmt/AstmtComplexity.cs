namespace Astmt.Models.Astmt;

/// <summary>The cost of one ASTMT configuration.</summary>
/// <param name="Parameters">Trainable parameters (heads, and the discriminator when present, included).</param>
/// <param name="EncoderMacs">Multiply-accumulates of one encoder pass on one image.</param>
/// <param name="DecoderMacs">Multiply-accumulates of one task's decoder and head on one image.</param>
/// <param name="EncoderPasses">Encoder passes per image for all tasks: 1 when the encoder is task-agnostic, else T.</param>
/// <param name="TaskCount">T.</param>
public sealed record AstmtCost(long Parameters, long EncoderMacs, long DecoderMacs, int EncoderPasses, int TaskCount)
{
    /// <summary>Multiply-accumulates per image for every task's prediction.</summary>
    public long MacsPerImage => EncoderPasses * EncoderMacs + TaskCount * DecoderMacs;

    /// <summary>FLOPs (2 per multiply-accumulate) of one task's forward pass.</summary>
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
    /// <summary>Trainable parameters of the network <paramref name="config"/> describes.</summary>
    public static long ParameterCount(AstmtConfig config) => Measure(config, 512, 512).Parameters;

    /// <summary>The cost of <paramref name="config"/> for <paramref name="height"/>×<paramref name="width"/> input images.</summary>
    public static AstmtCost Measure(AstmtConfig config, int height, int width)
    {
        config.Validate();
        int t = config.Tasks.Count;
        long encNormCopies = config.TaskEncoderNorm ? t : 1;
        long p = 0, encMacs = 0, decMacs = 0;

        int stem = 64 / config.WidthDivisor;
        int h = Out(height, 7, 2, 3, 1), w = Out(width, 7, 2, 3, 1);
        p += 3L * stem * 49 + 2L * stem;
        encMacs += 3L * stem * 49 * h * w;
        h = Out(h, 3, 2, 1, 1);
        w = Out(w, 3, 2, 1, 1);

        int[] strides = config.OutputStride == 16 ? [1, 2, 2, 1] : [1, 2, 1, 1];
        int[] dilations = config.OutputStride == 16 ? [1, 1, 1, 2] : [1, 1, 2, 4];
        int inPlanes = stem, lowChannels = 0, lowH = 0, lowW = 0;
        for (int s = 0; s < 4; s++)
        {
            int planes = (64 << s) / config.WidthDivisor, outC = 4 * planes;
            for (int b = 0; b < config.Blocks[s]; b++)
            {
                int stride = b == 0 ? strides[s] : 1;
                bool down = b == 0 && (stride != 1 || inPlanes != outC || dilations[s] is 2 or 4);
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
        foreach (var task in config.Tasks) p += (long)dw * task.OutChannels + task.OutChannels;
        // One task's head: the per-task decoder cost uses the widest head so the figure is an upper bound across tasks.
        decMacs += (long)dw * config.Tasks.Max(x => x.OutChannels) * lowHw;
        if (config.Adversarial)
        {
            int k = config.DiscriminatorKernel;
            p += (long)dw * dw * k * k + (long)dw * t * k * k + t;
        }
        return new AstmtCost(p, encMacs, decMacs, config.EncoderIsTaskSpecific ? t : 1, t);
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
