using Astmt.Engine;
using Astmt.Engine.Cuda;
using Astmt.Engine.Cuda.Backend;
using Astmt.Engine.Ops;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>
/// The engine's ops on the emu device (CudaBackend over the emulator, the same code path as a real GPU) against the same ops
/// on the CPU backend: forward values and the gradients backward produces, on odd shapes, under two schedules.
/// </summary>
[TestFixture(EmulatorSchedule.Forward), TestFixture(EmulatorSchedule.Random), Category("Emulator")]
public class DeviceBackendTests(EmulatorSchedule schedule)
{
    private static readonly Device EmuDevice = new(DeviceKind.Emu);

    [SetUp]
    public void SetUp()
    {
        EmuBackend.Start(schedule);
    }

    private static Tensor Random(Random rng, params int[] shape) => Tensor.FromArray(Array.ConvertAll(Oracle.Normal(rng, ShapeUtil.Numel(shape)), v => (float)v), shape);

    /// <summary>A leaf on the CPU and its copy on the emu device, both requiring gradients.</summary>
    private static (Tensor Cpu, Tensor Dev) Leaf(Random rng, params int[] shape)
    {
        var cpu = Random(rng, shape);
        var dev = cpu.To(EmuDevice);
        cpu.RequiresGrad = true;
        dev.RequiresGrad = true;
        return (cpu, dev);
    }

    private static void Same(Tensor cpu, Tensor dev, string what, double atol = 1e-4, double rtol = 1e-4)
    {
        Assert.That(dev.Device, Is.EqualTo(EmuDevice), $"{what} stays on the device");
        Assert.That(dev.Shape, Is.EqualTo(cpu.Shape), $"{what}: shape");
        Oracle.Close(cpu.ToDoubleArray(), dev.ToDoubleArray(), atol, rtol, what);
    }

    /// <summary>Backward of Σ y·r with the same random r on both devices (so every output element gets a distinct gradient).</summary>
    private static void BackwardWeighted(Tensor yCpu, Tensor yDev, int seed)
    {
        // Both graphs share the step arena: the first backward keeps it, the second frees it.
        var r = Random(new Random(seed), yCpu.Shape);
        var lossCpu = F.Sum(F.Mul(yCpu, r));
        var lossDev = F.Sum(F.Mul(yDev, r.To(EmuDevice)));
        lossCpu.Backward(retainGraph: true);
        lossDev.Backward();
    }

    [Test]
    public void BroadcastArithmeticAndSums()
    {
        var rng = new Random(90);
        var (a, ad) = Leaf(rng, 2, 3, 5, 7);
        var (b, bd) = Leaf(rng, 3, 1, 7);
        var y = F.Div(F.Sub(F.Mul(F.Add(a, b), b), a), F.Add(F.Mul(b, b), Tensor.Scalar(1.0)));
        var yd = F.Div(F.Sub(F.Mul(F.Add(ad, bd), bd), ad), F.Add(F.Mul(bd, bd), Tensor.Scalar(1.0).To(EmuDevice)));
        Same(y, yd, "broadcast arithmetic");
        Same(F.Sum(y, [0, 2], keepDim: true), F.Sum(yd, [0, 2], keepDim: true), "sum over dims 0 and 2");
        Same(F.Sum(y, [1, 3]), F.Sum(yd, [1, 3]), "sum over dims 1 and 3");
        BackwardWeighted(y, yd, 91);
        Same(a.Grad!, ad.Grad!, "grad a");
        Same(b.Grad!, bd.Grad!, "grad b (un-broadcast by a device sum)");
    }

    [Test]
    public void StridedViewsBroadcastWithoutCopies()
    {
        var rng = new Random(92);
        var a = Random(rng, 2, 7, 5);
        var b = Random(rng, 5, 1);
        var y = F.Add(F.Permute(a, 0, 2, 1), b);
        var yd = F.Add(F.Permute(a.To(EmuDevice), 0, 2, 1), b.To(EmuDevice));
        Same(y, yd, "permuted view + broadcast");
    }

    [Test]
    public void ConvolutionForwardAndBothGradients([Values(1, 2)] int stride, [Values(1, 2)] int dilation)
    {
        var rng = new Random(93 + stride * 3 + dilation);
        var (x, xd) = Leaf(rng, 2, 3, 9, 11);
        var (w, wd) = Leaf(rng, 5, 3, 3, 3);
        var (b, bd) = Leaf(rng, 5);
        var y = F.Conv2d(x, w, b, stride, padding: dilation, dilation);
        var yd = F.Conv2d(xd, wd, bd, stride, padding: dilation, dilation);
        Same(y, yd, "conv2d");
        BackwardWeighted(y, yd, 94);
        Same(x.Grad!, xd.Grad!, "conv2d grad x");
        Same(w.Grad!, wd.Grad!, "conv2d grad weight");
        Same(b.Grad!, bd.Grad!, "conv2d grad bias");
    }

    [Test]
    public void BatchNormReluTrainingUpdatesRunningStatsAndBackpropagates([Values(false, true)] bool relu)
    {
        var rng = new Random(95);
        var (x, xd) = Leaf(rng, 3, 4, 5, 7);
        var (g, gd) = Leaf(rng, 4);
        var (b, bd) = Leaf(rng, 4);
        var rm = Tensor.Zeros([4]); var rv = Tensor.Ones([4]);
        var rmd = rm.To(EmuDevice); var rvd = rv.To(EmuDevice);
        var y = relu ? F.BatchNormRelu2d(x, g, b, rm, rv, training: true) : F.BatchNorm2d(x, g, b, rm, rv, training: true);
        var yd = relu ? F.BatchNormRelu2d(xd, gd, bd, rmd, rvd, training: true) : F.BatchNorm2d(xd, gd, bd, rmd, rvd, training: true);
        Same(y, yd, "batch norm forward");
        Same(rm, rmd, "running mean");
        Same(rv, rvd, "running var");
        BackwardWeighted(y, yd, 96);
        Same(x.Grad!, xd.Grad!, "batch norm grad x");
        Same(g.Grad!, gd.Grad!, "batch norm grad weight");
        Same(b.Grad!, bd.Grad!, "batch norm grad bias");
        var e = F.BatchNorm2d(x.Detach(), g.Detach(), b.Detach(), rm, rv, training: false);
        var ed = F.BatchNorm2d(xd.Detach(), gd.Detach(), bd.Detach(), rmd, rvd, training: false);
        Same(e, ed, "batch norm eval");
    }

    [Test]
    public void BatchNormModulesCountTheirBatchesOnTheDevice()
    {
        // num_batches_tracked is incremented by a kernel (add_scalar_i64), not by a host round trip per batch norm.
        var bn = new Astmt.Engine.NN.BatchNorm2d(4);
        bn.To(EmuDevice);
        var x = Random(new Random(97), 2, 4, 3, 5).To(EmuDevice);
        for (int i = 0; i < 3; i++) { bn.Forward(x); bn.ForwardRelu(x); }
        bn.Eval();
        bn.Forward(x);
        Assert.That(bn.NumBatchesTracked!.Device, Is.EqualTo(EmuDevice));
        Assert.That(bn.NumBatchesTracked.ToArray<long>(), Is.EqualTo(new[] { 6L }), "six training forwards, none in eval");
    }

    [Test]
    public void MaxPoolUnpoolResizeConcatAndSoftmax()
    {
        var rng = new Random(97);
        var (x, xd) = Leaf(rng, 2, 3, 9, 10);
        var (p, idx) = F.MaxPool2dWithIndices(x, 2, 2);
        var (pd, idxd) = F.MaxPool2dWithIndices(xd, 2, 2);
        Same(p, pd, "max pool");
        Assert.That(idxd.ToArray<long>(), Is.EqualTo(idx.ToArray<long>()), "max pool indices");
        var u = F.MaxUnpool2d(p, idx, 9, 10);
        var ud = F.MaxUnpool2d(pd, idxd, 9, 10);
        Same(u, ud, "max unpool");
        var r = F.Interpolate(u, 13, 7, ResizeMode.Bilinear, alignCorners: false);
        var rd = F.Interpolate(ud, 13, 7, ResizeMode.Bilinear, alignCorners: false);
        Same(r, rd, "bilinear");
        var n = F.Interpolate(r, 26, 14, ResizeMode.Nearest);
        var nd = F.Interpolate(rd, 26, 14, ResizeMode.Nearest);
        Same(n, nd, "nearest");
        var c = F.Cat([n, F.Relu(n)], 1);
        var cd = F.Cat([nd, F.Relu(nd)], 1);
        Same(c, cd, "cat + relu");
        var s = F.LogSoftmax(F.Sigmoid(c), 1);
        var sd = F.LogSoftmax(F.Sigmoid(cd), 1);
        Same(s, sd, "log_softmax(sigmoid)");
        Same(F.Softmax(c, 1), F.Softmax(cd, 1), "softmax");
        BackwardWeighted(s, sd, 98);
        Same(x.Grad!, xd.Grad!, "grad through pool, unpool, resize, cat, relu, sigmoid, log_softmax");
    }

    [Test]
    public void LinearMatMulChannelScaleAndGradientReversal()
    {
        var rng = new Random(101);
        var (x, xd) = Leaf(rng, 5, 19);
        var (w, wd) = Leaf(rng, 7, 19);
        var (b, bd) = Leaf(rng, 7);
        var (m, md) = Leaf(rng, 7, 3);
        var (f, fd) = Leaf(rng, 5, 3, 4, 6);
        var y = F.ChannelScale(f, F.Sigmoid(F.MatMul(F.GradientReversal(F.Linear(x, w, b), 0.7), m)));
        var yd = F.ChannelScale(fd, F.Sigmoid(F.MatMul(F.GradientReversal(F.Linear(xd, wd, bd), 0.7), md)));
        Same(y, yd, "linear → reversal → matmul → sigmoid → channel scale");
        BackwardWeighted(y, yd, 102);
        Same(x.Grad!, xd.Grad!, "grad x");
        Same(w.Grad!, wd.Grad!, "grad linear weight");
        Same(b.Grad!, bd.Grad!, "grad linear bias");
        Same(m.Grad!, md.Grad!, "grad matmul operand");
        Same(f.Grad!, fd.Grad!, "grad scaled feature (channel dot)");
    }

    [Test]
    public void LossesMaxAndNormalize()
    {
        var rng = new Random(103);
        var (z, zd) = Leaf(rng, 2, 5, 4, 3);
        var targetData = new long[2 * 4 * 3];
        for (int i = 0; i < targetData.Length; i++) targetData[i] = i % 7 == 0 ? 255 : rng.Next(5);
        var t = Tensor.FromArray(targetData, 2, 4, 3);
        var ce = F.CrossEntropy(z, t, ignoreIndex: 255);
        var ced = F.CrossEntropy(zd, t.To(EmuDevice), ignoreIndex: 255);
        Same(ce, ced, "cross entropy");
        var l2 = F.L2Normalize(z);
        var l2d = F.L2Normalize(zd);
        Same(l2, l2d, "l2 normalize");
        Same(F.Max(z, 1), F.Max(zd, 1), "max over channels");
        Assert.That(F.ArgMax(zd, 1).ToArray<long>(), Is.EqualTo(F.ArgMax(z, 1).ToArray<long>()), "argmax over channels");
        var bt = Tensor.FromArray(Oracle.Uniform(rng, 2 * 5 * 4 * 3, 0, 1).Select(v => (float)v).ToArray(), 2, 5, 4, 3);
        var bce = F.BinaryCrossEntropyWithLogits(z, bt);
        var bced = F.BinaryCrossEntropyWithLogits(zd, bt.To(EmuDevice));
        Same(bce, bced, "bce with logits");
        var total = F.Add(F.Add(ce, bce), F.Sum(F.Mul(l2, l2)));
        var totald = F.Add(F.Add(ced, bced), F.Sum(F.Mul(l2d, l2d)));
        BackwardWeighted(total, totald, 104);
        Same(z.Grad!, zd.Grad!, "grad through cross entropy, bce and l2 normalize");
    }

    [Test]
    public void DTypeConversionStaysOnTheDeviceAndFeedsCrossEntropy()
    {
        // ASTMT's ground truth arrives as float maps [B,1,H,W]; the losses cast them to Int64 class indices on the device.
        var rng = new Random(105);
        var labels = new float[3 * 1 * 5 * 7];
        for (int i = 0; i < labels.Length; i++) labels[i] = i % 6 == 0 ? 255 : rng.Next(4);
        var cpuLabels = Tensor.FromArray(labels, 3, 1, 5, 7);
        var devLabels = cpuLabels.To(EmuDevice);
        var asLong = devLabels.To(DType.Int64);
        Assert.That(asLong.Device, Is.EqualTo(EmuDevice), "float32 → Int64 stays on the device");
        Assert.That(asLong.DType, Is.EqualTo(DType.Int64));
        Assert.That(asLong.ToArray<long>(), Is.EqualTo(cpuLabels.To(DType.Int64).ToArray<long>()));
        var back = asLong.To(DType.Float32);
        Assert.That(back.Device, Is.EqualTo(EmuDevice), "Int64 → float32 stays on the device");
        Same(cpuLabels, back, "Int64 → float32", 0, 0);
        // A strided view converts through a contiguous copy.
        var narrowed = F.Narrow(devLabels, 2, 1, 3);
        Same(F.Narrow(cpuLabels, 2, 1, 3).To(DType.Int64).To(DType.Float32), narrowed.To(DType.Int64).To(DType.Float32), "strided view → Int64 → float32", 0, 0);

        var (z, zd) = Leaf(rng, 3, 4, 5, 7);
        var ce = F.CrossEntropy(z, F.Reshape(cpuLabels.To(DType.Int64), 3, 5, 7), ignoreIndex: 255);
        var ced = F.CrossEntropy(zd, F.Reshape(asLong, 3, 5, 7), ignoreIndex: 255);
        Same(ce, ced, "cross entropy on converted labels");
        ce.Backward(retainGraph: true); // both graphs share the step arena: the second backward frees it
        ced.Backward();
        Same(z.Grad!, zd.Grad!, "its gradient");
    }

    [Test]
    public void UnaryMathOps()
    {
        var rng = new Random(99);
        var x = Random(rng, 3, 17);
        var xd = x.To(EmuDevice);
        Same(F.Exp(x), F.Exp(xd), "exp");
        Same(F.Abs(x), F.Abs(xd), "abs");
        Same(F.Square(x), F.Square(xd), "square");
        Same(F.Clamp(x, -0.5, 0.7), F.Clamp(xd, -0.5, 0.7), "clamp");
        Same(F.Sqrt(F.Abs(x)), F.Sqrt(F.Abs(xd)), "sqrt");
        Same(F.Log(F.Add(F.Abs(x), Tensor.Scalar(0.1))), F.Log(F.Add(F.Abs(xd), Tensor.Scalar(0.1).To(EmuDevice))), "log");
        Same(F.Greater(x, 0.2), F.Greater(xd, 0.2), "greater mask");
    }

    [Test]
    public void MixedDevicesFailClearly()
    {
        var a = Tensor.Ones([3]);
        var b = Tensor.Ones([3]).To(EmuDevice);
        var ex = Assert.Throws<ArgumentException>(() => F.Add(a, b));
        Assert.That(ex!.Message, Does.Contain("different devices").And.Contain("emu"));
    }

    [Test]
    public void SteadyStateStepsMakeNoDeviceAllocations()
    {
        var rng = new Random(100);
        var w = Random(rng, 4, 3, 3, 3).To(EmuDevice);
        w.RequiresGrad = true;
        var x = Random(rng, 2, 3, 8, 8).To(EmuDevice);
        var allocator = CudaBackend.Initialize(EmuDevice).Context.Allocator;
        void Step()
        {
            var y = F.Relu(F.Conv2d(x, w, null, 1, 1));
            var (p, i) = F.MaxPool2dWithIndices(y, 2, 2);
            F.Sum(F.MaxUnpool2d(p, i, 8, 8)).Backward();
            w.Grad = null;
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Step();
        Step();
        long after = allocator.RawAllocations;
        for (int k = 0; k < 3; k++) Step();
        Assert.That(allocator.RawAllocations, Is.EqualTo(after), "steady-state steps reuse cached device blocks");
        Assert.That(allocator.RawFrees, Is.Zero);
    }
}
