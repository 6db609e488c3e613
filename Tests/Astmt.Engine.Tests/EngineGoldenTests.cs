using Astmt.Engine;
using Astmt.Engine.IO;
using Astmt.Engine.Ops;
using Astmt.Engine.Optim;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests;

/// <summary>
/// The engine golden graph of Tools/fixtures/make_engine_golden.py against PyTorch 1.13: conv, batch norm (train), ReLU, max pool
/// with indices, max unpool, bilinear upsample (align_corners), concat, a sigmoid gate, log-softmax + NLL (ignore -1) and masked
/// L1; the outputs, every parameter gradient, and the parameters and running statistics after 3 Adam steps.
/// </summary>
public class EngineGoldenTests
{
    private static readonly string[] ParamNames =
    [
        "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "gate.weight", "gate.bias",
        "seg.weight", "seg.bias", "depth.weight", "depth.bias",
    ];

    /// <summary>The graph's parameters, inputs and BN running statistics, loaded from the fixture.</summary>
    private sealed class Graph
    {
        public readonly SafeTensorsFile Golden = SafeTensors.Load(Fixtures.Path("engine_golden.safetensors"));
        public readonly Dictionary<string, Tensor> P = [];
        public readonly Tensor X, Target, DepthGt;
        public readonly Tensor RunningMean = Tensor.Zeros([4]);
        public readonly Tensor RunningVar = Tensor.Ones([4]);

        public Graph()
        {
            foreach (var name in ParamNames)
            {
                var p = Golden.Get("init." + name);
                p.RequiresGrad = true;
                p.Name = name;
                P[name] = p;
            }
            X = Golden.Get("input.x");            // [2,3,8,10]
            Target = Golden.Get("input.target");  // [2,8,10] Int64, -1 ignored
            DepthGt = Golden.Get("input.depth_gt"); // [2,1,8,10]
        }

        public (Tensor Seg, Tensor Depth, Tensor Indices, Tensor Nll, Tensor L1) Forward()
        {
            var h = F.Conv2d(X, P["conv1.weight"], P["conv1.bias"], padding: 1);
            h = F.BatchNorm2d(h, P["bn1.weight"], P["bn1.bias"], RunningMean, RunningVar, training: true, momentum: 0.1, eps: 1e-5);
            h = F.Relu(h);                                                  // [2,4,8,10]
            var (pooled, idx) = F.MaxPool2dWithIndices(h, 2, 2);           // [2,4,4,5]
            var unpooled = F.MaxUnpool2d(pooled, idx, 8, 10);
            var up = F.Interpolate(pooled, 2.0, ResizeMode.Bilinear, alignCorners: true);
            var cat = F.Cat([unpooled, up], 1);                            // [2,8,8,10]
            var gate = F.Sigmoid(F.Conv2d(cat, P["gate.weight"], P["gate.bias"]));
            var g = F.Mul(gate, h);
            var seg = F.LogSoftmax(F.Conv2d(g, P["seg.weight"], P["seg.bias"]), 1);
            var depth = F.Conv2d(g, P["depth.weight"], P["depth.bias"]);
            var nll = F.NllLoss(seg, Target, ignoreIndex: -1);
            var mask = F.NotEqual(F.Sum(DepthGt, [1], keepDim: true), 0);
            var l1 = F.MaskedL1(depth, DepthGt, mask);
            return (seg, depth, idx, nll, l1);
        }
    }

    // float32 through a few convolutions and a batch norm: elementwise rounding grows to ~1e-6 of the values.
    private const double Atol = 2e-5, Rtol = 1e-4;

    /// <summary>st_write.py stores 0-d values as [1]; scalars are compared by value.</summary>
    private static void AssertCloseFlat(Tensor expected, Tensor actual, string what)
    {
        Assert.That(actual.Numel, Is.EqualTo(expected.Numel), what);
        Numeric.AssertClose(expected.ToDoubleArray(), actual.ToDoubleArray(), Atol, Rtol, what);
    }

    [Test]
    public void OutputsAndGradientsMatchPyTorch()
    {
        var graph = new Graph();
        var golden = graph.Golden;
        var (seg, depth, idx, nll, l1) = graph.Forward();
        Numeric.AssertClose(golden.Get("out.seg"), seg, Atol, Rtol, "log-softmax output");
        Numeric.AssertClose(golden.Get("out.depth"), depth, Atol, Rtol, "depth output");
        Assert.That(idx.ToArray<long>(), Is.EqualTo(golden.Get("out.pool_indices").ToArray<long>()), "max pool indices");
        AssertCloseFlat(golden.Get("out.nll"), nll, "NLL");
        AssertCloseFlat(golden.Get("out.l1"), l1, "masked L1");

        F.Add(nll, l1).Backward();
        foreach (var name in ParamNames)
            Numeric.AssertClose(golden.Get("grad." + name), graph.P[name].Grad!, Atol, Rtol, "gradient of " + name);
    }

    [Test]
    public void ThreeAdamStepsMatchPyTorch()
    {
        var graph = new Graph();
        var golden = graph.Golden;
        var opt = new Adam(ParamNames.Select(n => graph.P[n]), learningRate: 1e-2);
        for (int step = 0; step < 3; step++)
        {
            opt.ZeroGrad();
            var (_, _, _, nll, l1) = graph.Forward();
            F.Add(nll, l1).Backward();
            opt.Step();
        }
        foreach (var name in ParamNames)
        {
            if (name == "conv1.bias")
            {
                // BN right after conv1 removes any per-channel shift, so this gradient is 0 up to rounding (~1e-9 in PyTorch too)
                // and Adam, which divides by √v, turns that noise into steps of up to lr in either direction. All one can
                // check is Adam's bound: each of the 3 steps moves a parameter by at most lr (times √(1−β2^t)/(1−β1^t) ≤ 1).
                var moved = F.Sub(graph.P[name], golden.Get("init." + name)).ToDoubleArray();
                Assert.That(moved.Select(Math.Abs), Is.All.LessThanOrEqualTo(3 * 1e-2 * (1 + 1e-6)), "conv1.bias moves at most 3 lr");
                continue;
            }
            Numeric.AssertClose(golden.Get("adam3." + name), graph.P[name], 1e-5, 1e-4, "after 3 Adam steps: " + name);
        }
        // The batch means include conv1.bias, whose trajectory is rounding noise (above): forwards 2 and 3 see biases that may
        // differ from PyTorch's by up to 2 lr and 4 lr, weighted 0.9·0.1 and 0.1 in the running mean, so it can differ by 0.58 lr.
        // The running variance does not see the bias and is compared tightly.
        Numeric.AssertClose(golden.Get("adam3.bn1.running_mean"), graph.RunningMean, 0.58 * 1e-2, 0, "BN running mean after 3 forwards");
        Numeric.AssertClose(golden.Get("adam3.bn1.running_var"), graph.RunningVar, Atol, Rtol, "BN running var after 3 forwards");
    }
}
