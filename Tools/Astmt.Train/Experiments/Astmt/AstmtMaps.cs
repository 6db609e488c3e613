namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>The reference's post-processing of raw outputs (spec §1.6) and the conversions from the losses' void convention (255)
/// to the metrics' (labels outside [0, K), depth 0, zero normals), on flat channels-first arrays.</summary>
public static class AstmtMaps
{
    /// <summary>The losses' void value.</summary>
    public const float Void = 255f;

    /// <summary>Arg-max over <paramref name="channels"/> of one image's C×H×W scores (the first maximum wins, as torch.argmax).</summary>
    public static void ArgMax(ReadOnlySpan<float> scores, int channels, Span<long> into)
    {
        int plane = into.Length;
        for (int p = 0; p < plane; p++)
        {
            int best = 0;
            float bestValue = scores[p];
            for (int c = 1; c < channels; c++)
            {
                float v = scores[c * plane + p];
                if (v > bestValue) { bestValue = v; best = c; }
            }
            into[p] = best;
        }
    }

    /// <summary>The logistic function of every value (edge and saliency probabilities).</summary>
    public static float[] Sigmoid(ReadOnlySpan<float> logits)
    {
        var result = new float[logits.Length];
        for (int i = 0; i < logits.Length; i++) result[i] = (float)(1.0 / (1.0 + Math.Exp(-logits[i])));
        return result;
    }

    /// <summary>Ground-truth labels: 255 (void) stays 255, which every metric ignores.</summary>
    public static long[] Labels(ReadOnlySpan<float> truth)
    {
        var result = new long[truth.Length];
        for (int i = 0; i < truth.Length; i++) result[i] = (long)truth[i];
        return result;
    }

    /// <summary>Void (255) replaced by 0, the depth and normal meters' "invalid".</summary>
    public static float[] VoidToZero(ReadOnlySpan<float> truth)
    {
        var result = new float[truth.Length];
        for (int i = 0; i < truth.Length; i++) result[i] = truth[i] == Void ? 0f : truth[i];
        return result;
    }

    /// <summary>True when an image's human-parts ground truth has no part pixel (all background or all void): the reference's
    /// evaluation skips such images.</summary>
    public static bool HasNoParts(ReadOnlySpan<float> truth)
    {
        bool allZero = true, allVoid = true;
        foreach (float v in truth)
        {
            if (v != 0f) allZero = false;
            if (v != Void) allVoid = false;
            if (!allZero && !allVoid) return false;
        }
        return true;
    }
}
