using Astmt.Engine;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>
/// ASTMT's adversarial step differentiates the gradient of the task losses with respect to the shared features. This builds
/// that gradient with create-graph through ReLU, squeeze-and-excitation, log-softmax+NLL, sigmoid+weighted BCE, L2-normalize
/// and masked L1, and checks its derivative with respect to every weight and the input against finite differences.
/// </summary>
public class DoubleBackpropTests
{
    /// <summary>A 1×1 "convolution" as a per-pixel linear layer: [B,C,H,W] → [B,K,H,W].</summary>
    private static Tensor PixelLinear(Tensor x, Tensor w) => F.Permute(F.Linear(F.Permute(x, 0, 2, 3, 1), w, null), 0, 3, 1, 2);

    [Test]
    public void GradientOfTaskLossesWithRespectToFeaturesIsDifferentiable()
    {
        var rng = new Random(17);
        const int b = 2, c = 3, h = 2, w = 3, classes = 4;
        var segTarget = Tensor.FromArray(Enumerable.Range(0, b * h * w).Select(i => i % 5 == 4 ? 255L : i % classes).ToArray(), b, h, w);
        var edgeTarget = F.Greater(Numeric.RandomDouble(rng, b, 1, h, w), 0.2).Detach();
        var edgeWeight = F.Add(F.Mul(edgeTarget, 0.9), 0.05).Detach();
        var normalTarget = Numeric.RandomDouble(rng, b, 3, h, w);
        var normalMask = F.Greater(Numeric.RandomDouble(rng, b, 1, h, w), -0.6).Detach();

        Tensor GradientOfTaskLosses(Tensor[] t)
        {
            // The finite-difference harness evaluates this under no-grad as well; the inner gradient needs a graph.
            using var _ = Autograd.Autograd.EnableGrad();
            var (x, wSe, wSeg, wEdge, wNormals) = (t[0], t[1], t[2], t[3], t[4]);
            var excitation = F.Sigmoid(F.Linear(F.Mean(x, [2, 3]), wSe, null));
            var features = F.Relu(F.ChannelScale(x, excitation));
            var seg = F.NllLoss(F.LogSoftmax(PixelLinear(features, wSeg), 1), segTarget, ignoreIndex: 255);
            var edge = F.BinaryCrossEntropyWithLogits(PixelLinear(features, wEdge), edgeTarget, edgeWeight);
            var normals = F.MaskedL1(F.L2Normalize(PixelLinear(features, wNormals)), normalTarget, normalMask);
            var loss = F.Add(F.Add(seg, edge), normals);
            return Autograd.Autograd.Grad([loss], [x], createGraph: true)[0]!;
        }

        Tensor[] Inputs() =>
        [
            Numeric.RandomDouble(rng, b, c, h, w), Numeric.RandomDouble(rng, c, c), Numeric.RandomDouble(rng, classes, c),
            Numeric.RandomDouble(rng, 1, c), Numeric.RandomDouble(rng, 3, c),
        ];

        GradCheck.Check(GradientOfTaskLosses, Inputs(), eps: 1e-6, atol: 2e-6, rtol: 1e-4);
    }
}
