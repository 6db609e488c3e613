using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;

namespace Astmt.Models.Mtan;

/// <summary>The layer recipes of the reference SegNets (spec §1.2 and §1.6), with the reference's nesting so state-dict keys match.</summary>
internal static class SegNetLayers
{
    /// <summary>conv3(ci,co)+BN+ReLU, or with <paramref name="deep"/> the split-deep variant that repeats it with co→co.</summary>
    public static Sequential ConvLayer(int ci, int co, bool deep = false) => deep
        ? new Sequential(Conv3(ci, co), new BatchNorm2d(co), new ReLU(), Conv3(co, co), new BatchNorm2d(co), new ReLU())
        : new Sequential(Conv3(ci, co), new BatchNorm2d(co), new ReLU());

    /// <summary>The prediction head conv3(c,c) → conv1(c,k), with no BN or activation.</summary>
    public static Sequential PredLayer(int c, int k) => new(Conv3(c, c), Conv1(c, k));

    /// <summary>The attention mask net conv1(c0,c1)+BN+ReLU → conv1(c1,c2)+BN+Sigmoid.</summary>
    public static Sequential AttLayer(int c0, int c1, int c2) =>
        new(Conv1(c0, c1), new BatchNorm2d(c1), new ReLU(), Conv1(c1, c2), new BatchNorm2d(c2), new Sigmoid());

    /// <summary>
    /// shared ⊙ <paramref name="att"/>(input) for a mask net built by <see cref="AttLayer"/>: conv1+BN+ReLU, then the last
    /// conv1 → BN → sigmoid and the multiply as the fused attention gate. Same parameters (and state-dict keys) and the same
    /// result as running the Sequential and multiplying.
    /// </summary>
    public static Tensor Gate(Sequential att, Tensor input, Tensor shared)
    {
        if (att.Count != 6 || att[0] is not Conv2d first || att[1] is not BatchNorm2d firstBn || att[3] is not Conv2d last || att[4] is not BatchNorm2d lastBn)
            throw new ArgumentException($"SegNetLayers.Gate: expected an attention mask net conv1+BN+ReLU → conv1+BN+Sigmoid, got {att.Count} layers.");
        var hidden = firstBn.ForwardAfterConv(first, input, relu: true);
        var gated = FusedLayers.AttentionGate(last, lastBn, hidden, shared);
        InferenceScope.ReleaseIntermediate(hidden);
        return gated;
    }

    /// <summary>The Dense and Cross-stitch stage block: two conv3+BN+ReLU (c0→c1→c2) when <paramref name="twoConvs"/>, else three (c0→c1→c1→c2).</summary>
    public static Sequential StageBlock(int c0, int c1, int c2, bool twoConvs) => twoConvs
        ? new Sequential(Conv3(c0, c1), new BatchNorm2d(c1), new ReLU(), Conv3(c1, c2), new BatchNorm2d(c2), new ReLU())
        : new Sequential(Conv3(c0, c1), new BatchNorm2d(c1), new ReLU(), Conv3(c1, c1), new BatchNorm2d(c1), new ReLU(),
            Conv3(c1, c2), new BatchNorm2d(c2), new ReLU());

    private static Conv2d Conv3(int ci, int co) => new(ci, co, 3, padding: 1);

    private static Conv2d Conv1(int ci, int co) => new(ci, co, 1);
}
