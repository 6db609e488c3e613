using Astmt.Engine.IO;
using Astmt.Engine.Ops;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Ops;

/// <summary>
/// The engine golden graph of Tools/fixtures/make_engine_golden.py (conv, train-mode BN, ReLU, pool with indices, unpool,
/// bilinear upsample by scale, concat, sigmoid gate, log-softmax), run forward and backward against PyTorch 1.13's values.
/// The loss gradients are seeded from their definitions (NLL with ignore index −1, masked L1), so this checks the spatial
/// ops inside a real graph without depending on the loss ops.
/// </summary>
public class SpatialGoldenTests
{
    private static readonly string[] ParameterNames =
        ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "gate.weight", "gate.bias", "seg.weight", "seg.bias", "depth.weight", "depth.bias"];

    [Test]
    public void ForwardAndParameterGradientsMatchPyTorch()
    {
        var file = SafeTensors.Load(Fixtures.Path("engine_golden.safetensors"));
        var x = file.Get("input.x");
        var p = ParameterNames.ToDictionary(n => n, n => file.Get("init." + n));
        foreach (var t in p.Values) t.RequiresGrad = true;
        var runningMean = Tensor.Zeros([4]);
        var runningVar = Tensor.Ones([4]);

        var h = F.Conv2d(x, p["conv1.weight"], p["conv1.bias"], padding: 1);
        h = F.Relu(F.BatchNorm2d(h, p["bn1.weight"], p["bn1.bias"], runningMean, runningVar, training: true));
        var (pooled, indices) = F.MaxPool2dWithIndices(h, 2, 2);
        var unpooled = F.MaxUnpool2d(pooled, indices, h.Shape[2], h.Shape[3]);
        var up = F.Interpolate(pooled, 2.0, ResizeMode.Bilinear, alignCorners: true);
        var gate = F.Sigmoid(F.Conv2d(F.Cat([unpooled, up], 1), p["gate.weight"], p["gate.bias"]));
        var g = F.Mul(gate, h);
        var seg = F.LogSoftmax(F.Conv2d(g, p["seg.weight"], p["seg.bias"]), 1);
        var depth = F.Conv2d(g, p["depth.weight"], p["depth.bias"]);

        Assert.That(indices.ToArray<long>(), Is.EqualTo(file.Get("out.pool_indices").ToArray<long>()), "pool indices");
        Numeric.AssertClose(file.Get("out.seg"), seg, 2e-5, 1e-4, "log-softmax output");
        Numeric.AssertClose(file.Get("out.depth"), depth, 2e-5, 1e-4, "depth output");

        var (gSeg, gDepth) = LossGradients(file, depth);
        var grads = Autograd.Autograd.Grad([seg, depth], ParameterNames.Select(n => p[n]).ToArray(), [gSeg, gDepth]);
        for (int i = 0; i < ParameterNames.Length; i++)
            Numeric.AssertClose(file.Get("grad." + ParameterNames[i]), grads[i]!, 2e-5, 1e-3, $"gradient of {ParameterNames[i]}");
        Autograd.Autograd.ReleaseStep();
    }

    // d(NLL)/d(seg) = −1/valid at the target class of each non-ignored pixel; d(L1)/d(depth) = sign(depth − gt)·mask / count(mask).
    private static (Tensor Seg, Tensor Depth) LossGradients(SafeTensorsFile file, Tensor depth)
    {
        var target = file.Get("input.target").ToArray<long>();
        var gt = file.Get("input.depth_gt").ToDoubleArray();
        var d = depth.ToDoubleArray();
        int b = 2, c = 3, plane = 80;
        int valid = target.Count(t => t != -1);
        var gSeg = new float[b * c * plane];
        for (int n = 0; n < b; n++)
            for (int i = 0; i < plane; i++)
            {
                long t = target[n * plane + i];
                if (t >= 0) gSeg[(n * c + (int)t) * plane + i] = -1f / valid;
            }
        int masked = gt.Count(v => v != 0);
        var gDepth = new float[d.Length];
        for (int i = 0; i < d.Length; i++)
            if (gt[i] != 0) gDepth[i] = (float)(Math.Sign(d[i] - gt[i]) / (double)masked);
        return (Tensor.FromArray(gSeg, b, c, 8, 10), Tensor.FromArray(gDepth, b, 1, 8, 10));
    }
}
