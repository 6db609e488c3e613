using Astmt.Engine;
using Astmt.Engine.Cpu;
using Astmt.Engine.IO;
using Astmt.Engine.Ops;
using Astmt.Engine.Optim;
using Astmt.Engine.Tests.Support;
using NUnit.Framework;

namespace Astmt.Engine.Tests;

/// <summary>The fused optimizers against naive float64 loops written from PyTorch's documented algorithms, plus their contracts:
/// parameter checks, gradient skipping, ZeroGrad, thread-count independence, state dicts and schedules.</summary>
public class OptimizerTests
{
    // Sizes: odd tails for the vector loops, and one large enough for the two-thread split.
    private static readonly int[][] Shapes = [[1], [7], [3, 5, 5], [45, 65], [70_001]];

    private static Tensor Param(Random rng, int[] shape, DType dtype)
    {
        var t = dtype == DType.Float64 ? Numeric.RandomDouble(rng, shape) : Numeric.RandomFloat(rng, shape);
        t.RequiresGrad = true;
        return t;
    }

    // ------------------------------------------------------------------ float64 oracles

    /// <summary>PyTorch 1.13 SGD, one element at a time.</summary>
    private static void NaiveSgd(double[] p, double[] g, ref double[]? buf, double lr, double momentum, double dampening, double wd, bool nesterov)
    {
        bool first = buf == null;
        buf ??= new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            double d = g[i] + wd * p[i];
            if (momentum != 0)
            {
                buf[i] = first ? d : momentum * buf[i] + (1 - dampening) * d;
                d = nesterov ? d + momentum * buf[i] : buf[i];
            }
            p[i] -= lr * d;
        }
    }

    /// <summary>Adam as Kingma and Ba write it (bias-corrected moments, eps added to √v̂), which PyTorch 1.13 computes, one element at a time.</summary>
    private static void NaiveAdam(double[] p, double[] g, double[] m, double[] v, int step, double lr, double b1, double b2, double eps, double wd)
    {
        for (int i = 0; i < p.Length; i++)
        {
            double gi = g[i] + wd * p[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            double mHat = m[i] / (1 - Math.Pow(b1, step));
            double vHat = v[i] / (1 - Math.Pow(b2, step));
            p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
        }
    }

    [TestCase(0.0, 0.0, 0.0, false)]
    [TestCase(0.9, 0.0, 0.0, false)]
    [TestCase(0.8, 0.3, 1e-2, false)]
    [TestCase(0.9, 0.0, 5e-2, true)]
    public void SgdMatchesFloat64Loop(double momentum, double dampening, double wd, bool nesterov)
    {
        var rng = new Random(21);
        var ps = Shapes.Select(s => Param(rng, s, DType.Float64)).ToArray();
        var expected = ps.Select(p => p.ToArray<double>()).ToArray();
        var buffers = new double[]?[ps.Length];
        var opt = new Sgd(ps, learningRate: 0.05, momentum, dampening, wd, nesterov);
        for (int step = 0; step < 4; step++)
        {
            for (int k = 0; k < ps.Length; k++)
            {
                var g = Numeric.RandomDouble(rng, ps[k].Shape);
                ps[k].Grad = g;
                NaiveSgd(expected[k], g.ToArray<double>(), ref buffers[k], 0.05, momentum, dampening, wd, nesterov);
            }
            opt.Step();
            for (int k = 0; k < ps.Length; k++)
                Numeric.AssertClose(expected[k], ps[k].ToArray<double>(), 1e-13, 1e-12, $"SGD step {step} param {k} {ShapeUtil.Format(ps[k].Shape)}");
        }
    }

    [TestCase(0.9, 0.999, 1e-8, 0.0)]
    [TestCase(0.5, 0.9, 1e-3, 1e-2)]
    public void AdamMatchesFloat64Loop(double b1, double b2, double eps, double wd)
    {
        var rng = new Random(22);
        var ps = Shapes.Select(s => Param(rng, s, DType.Float64)).ToArray();
        var expected = ps.Select(p => p.ToArray<double>()).ToArray();
        var m = ps.Select(p => new double[p.Numel]).ToArray();
        var v = ps.Select(p => new double[p.Numel]).ToArray();
        var opt = new Adam(ps, learningRate: 1e-2, b1, b2, eps, wd);
        for (int step = 1; step <= 4; step++)
        {
            for (int k = 0; k < ps.Length; k++)
            {
                var g = F.Mul(Numeric.RandomDouble(rng, ps[k].Shape), Math.Pow(10, -step)).Detach();
                ps[k].Grad = g;
                NaiveAdam(expected[k], g.ToArray<double>(), m[k], v[k], step, 1e-2, b1, b2, eps, wd);
            }
            opt.Step();
            for (int k = 0; k < ps.Length; k++)
            {
                Numeric.AssertClose(expected[k], ps[k].ToArray<double>(), 1e-13, 1e-11, $"Adam step {step} param {k}");
                Numeric.AssertClose(m[k], opt.State(k, "exp_avg")!.ToArray<double>(), 1e-15, 1e-12, $"Adam exp_avg step {step} param {k}");
                Numeric.AssertClose(v[k], opt.State(k, "exp_avg_sq")!.ToArray<double>(), 1e-18, 1e-12, $"Adam exp_avg_sq step {step} param {k}");
                Assert.That(opt.StepCount(k), Is.EqualTo(step));
            }
        }
    }

    [Test]
    public void Float32UpdatesTrackTheFloat64Loop()
    {
        var rng = new Random(23);
        var p32 = Param(rng, [70_001], DType.Float32);
        var expected = p32.ToDoubleArray();
        double[] m = new double[expected.Length], v = new double[expected.Length];
        var opt = new Adam([p32], learningRate: 1e-3);
        for (int step = 1; step <= 3; step++)
        {
            var g = Numeric.RandomFloat(rng, 70_001);
            p32.Grad = g;
            NaiveAdam(expected, g.ToDoubleArray(), m, v, step, 1e-3, 0.9, 0.999, 1e-8, 0);
            opt.Step();
        }
        Numeric.AssertClose(expected, p32.ToDoubleArray(), 1e-6, 1e-5, "float32 Adam vs float64 loop");
    }

    [Test]
    public void ResultsDoNotDependOnTheThreadCount()
    {
        float[] Run(int threads)
        {
            int saved = Parallelism.Threads;
            Parallelism.Threads = threads;
            try
            {
                var rng = new Random(24);
                var p = Param(rng, [200_003], DType.Float32);
                var opt = new Adam([p], 1e-2, weightDecay: 1e-3);
                var sgdP = Param(rng, [150_001], DType.Float32);
                var sgd = new Sgd([sgdP], 0.1, momentum: 0.9, nesterov: true);
                for (int s = 0; s < 3; s++)
                {
                    p.Grad = Numeric.RandomFloat(rng, p.Shape);
                    sgdP.Grad = Numeric.RandomFloat(rng, sgdP.Shape);
                    opt.Step();
                    sgd.Step();
                }
                return [.. p.ToArray<float>(), .. sgdP.ToArray<float>()];
            }
            finally { Parallelism.Threads = saved; }
        }
        Assert.That(Run(2), Is.EqualTo(Run(1)), "elementwise updates are exact whatever the split");
    }

    // ------------------------------------------------------------------ contracts

    [Test]
    public void ParametersWithoutGradientAreSkippedEntirely()
    {
        var rng = new Random(25);
        var a = Param(rng, [4], DType.Float32);
        var b = Param(rng, [3], DType.Float32);
        var before = b.ToArray<float>();
        var opt = new Sgd([a, b], 0.1, momentum: 0.9, weightDecay: 0.1);
        a.Grad = Tensor.Ones([4]);
        opt.Step();
        Assert.That(b.ToArray<float>(), Is.EqualTo(before), "no weight decay without a gradient");
        Assert.That(opt.State(1, "momentum_buffer"), Is.Null);
        Assert.That(opt.StepCount(1), Is.EqualTo(0));
        Assert.That(opt.StepCount(0), Is.EqualTo(1));
    }

    [Test]
    public void ZeroGradFillsInPlaceOrDrops()
    {
        var p = Param(new Random(26), [5], DType.Float32);
        var opt = new Sgd([p], 0.1);
        var g = Tensor.Ones([5]);
        p.Grad = g;
        opt.ZeroGrad();
        Assert.That(p.Grad, Is.SameAs(g));
        Assert.That(g.ToArray<float>(), Is.All.EqualTo(0f));
        opt.ZeroGrad(setToNone: true);
        Assert.That(p.Grad, Is.Null);
    }

    [Test]
    public void BadParametersAreRefusedWithTheirNames()
    {
        var frozen = Tensor.Zeros([2]);
        var ex = Assert.Throws<ArgumentException>(() => new Adam(new ParamGroup([new KeyValuePair<string, Tensor>("encoder.w", frozen)]).Yield()))!;
        Assert.That(ex.Message, Does.Contain("'encoder.w'").And.Contain("does not require a gradient"));

        var leaf = Param(new Random(1), [2], DType.Float32);
        var derived = F.Mul(leaf, 2.0);
        ex = Assert.Throws<ArgumentException>(() => new Sgd([derived], 0.1))!;
        Assert.That(ex.Message, Does.Contain("leaf tensors only"));

        ex = Assert.Throws<ArgumentException>(() => new Sgd([new ParamGroup([leaf]), new ParamGroup([leaf])], 0.1))!;
        Assert.That(ex.Message, Does.Contain("appears twice"));

        ex = Assert.Throws<ArgumentException>(() => new Sgd(Array.Empty<Tensor>(), 0.1))!;
        Assert.That(ex.Message, Does.Contain("empty parameter list"));

        ex = Assert.Throws<ArgumentException>(() => new Sgd([leaf], 0.1, momentum: 0.9, dampening: 0.1, nesterov: true))!;
        Assert.That(ex.Message, Does.Contain("Nesterov").And.Contain("dampening 0"));

        Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([leaf], beta1: 1.0));
    }

    [Test]
    public void ModuleParameterNamesAppearInMessages()
    {
        var bn = new Astmt.Engine.NN.BatchNorm2d(3);
        var opt = new Sgd([new ParamGroup(bn.NamedParameters(), name: "decoder")], 0.1);
        Assert.That(opt.ParameterCount, Is.EqualTo(2), "weight and bias; running statistics are buffers");
        Assert.That(opt.ParamGroups[0].ParameterNames, Is.EqualTo(new[] { "weight", "bias" }));
        bn.Parameters().First().Grad = Tensor.Zeros([4]);
        var ex = Assert.Throws<InvalidOperationException>(opt.Step)!;
        Assert.That(ex.Message, Does.Contain("'weight'").And.Contain("[4]").And.Contain("[3]"));
    }

    [Test]
    public void AMisshapenGradientIsReportedBeforeAnyParameterChanges()
    {
        var rng = new Random(27);
        var a = Param(rng, [4], DType.Float32);
        var b = Param(rng, [3], DType.Float32);
        a.Name = "first";
        b.Name = "second";
        var before = a.ToArray<float>();
        var opt = new Adam([a, b]);
        a.Grad = Tensor.Ones([4]);
        b.Grad = Tensor.Ones([4]);
        var ex = Assert.Throws<InvalidOperationException>(opt.Step)!;
        Assert.That(ex.Message, Does.Contain("'second'").And.Contain("[4]").And.Contain("[3]"));
        Assert.That(a.ToArray<float>(), Is.EqualTo(before));
    }

    [Test]
    public void GroupsKeepTheirOwnLearningRateAndWeightDecay()
    {
        var rng = new Random(28);
        var a = Param(rng, [3], DType.Float64);
        var b = Param(rng, [3], DType.Float64);
        var (ea, eb) = (a.ToArray<double>(), b.ToArray<double>());
        var opt = new Sgd([new ParamGroup([a]), new ParamGroup([b], learningRate: 0.5, weightDecay: 0.2)], learningRate: 0.1);
        Assert.That((opt.ParamGroups[0].LearningRate, opt.ParamGroups[0].WeightDecay), Is.EqualTo((0.1, 0.0)));
        a.Grad = Tensor.Full([3], 1.0, DType.Float64);
        b.Grad = Tensor.Full([3], 1.0, DType.Float64);
        opt.Step();
        double[]? none = null;
        NaiveSgd(ea, [1, 1, 1], ref none, 0.1, 0, 0, 0, false);
        none = null;
        NaiveSgd(eb, [1, 1, 1], ref none, 0.5, 0, 0, 0.2, false);
        Assert.That(a.ToArray<double>(), Is.EqualTo(ea).Within(1e-15));
        Assert.That(b.ToArray<double>(), Is.EqualTo(eb).Within(1e-15));
    }

    // ------------------------------------------------------------------ state dicts

    [Test]
    public void ResumingFromASavedStateContinuesTheSameTrajectory()
    {
        var dir = Fixtures.NewTempFolder();
        try
        {
            var rng = new Random(29);
            var grads = Enumerable.Range(0, 6).Select(_ => (Numeric.RandomFloat(rng, 5, 7), Numeric.RandomFloat(rng, 3))).ToArray();
            var w = Param(rng, [5, 7], DType.Float32);
            var b = Param(rng, [3], DType.Float32);
            var w2 = w.Detach(); w2.RequiresGrad = true;
            var b2 = b.Detach(); b2.RequiresGrad = true;

            var opt = new Adam([new ParamGroup([w]), new ParamGroup([b], learningRate: 1e-1)], learningRate: 1e-2, beta1: 0.8, weightDecay: 1e-3);
            var sched = new StepLR(opt, stepSize: 2, gamma: 0.5);
            void Train(Optimizer o, LrScheduler s, Tensor pw, Tensor pb, int from, int to)
            {
                for (int t = from; t < to; t++)
                {
                    pw.Grad = grads[t].Item1.Detach();
                    pb.Grad = grads[t].Item2.Detach();
                    o.Step();
                    s.Step();
                }
            }
            Train(opt, sched, w, b, 0, 3);
            var path = Path.Combine(dir, "ckpt.safetensors");
            var checkpoint = opt.StateDict().Concat(sched.StateDict()).ToDictionary();
            checkpoint["w"] = w;
            checkpoint["b"] = b;
            SafeTensors.Save(path, checkpoint);
            Train(opt, sched, w, b, 3, 6);

            var loaded = SafeTensors.LoadAll(path);
            w2.CopyFrom(loaded["w"]);
            b2.CopyFrom(loaded["b"]);
            var resumed = new Adam([new ParamGroup([w2]), new ParamGroup([b2])], learningRate: 123);
            var resumedSched = new StepLR(resumed, stepSize: 2, gamma: 0.5);
            loaded.Remove("w");
            loaded.Remove("b");
            resumed.LoadStateDict(loaded);
            resumedSched.LoadStateDict(loaded);
            Assert.That(resumed.Beta1, Is.EqualTo(0.8));
            Assert.That(resumed.StepCount(0), Is.EqualTo(3));
            Train(resumed, resumedSched, w2, b2, 3, 6);

            Assert.That(w2.ToArray<float>(), Is.EqualTo(w.ToArray<float>()));
            Assert.That(b2.ToArray<float>(), Is.EqualTo(b.ToArray<float>()));
            Assert.That(resumed.ParamGroups[1].LearningRate, Is.EqualTo(opt.ParamGroups[1].LearningRate));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void LoadingAMismatchedStateListsEveryProblemAndChangesNothing()
    {
        var rng = new Random(30);
        var w = Param(rng, [5, 7], DType.Float32);
        var b = Param(rng, [3], DType.Float32);
        var source = new Adam([w, b]);
        w.Grad = Tensor.Ones([5, 7]);
        b.Grad = Tensor.Ones([3]);
        source.Step();
        var state = source.StateDict();

        var w2 = Param(rng, [7, 5], DType.Float32);
        var b2 = Param(rng, [3], DType.Float32);
        var c = Param(rng, [2], DType.Float32);
        var target = new Adam([new ParamGroup([w2, b2]), new ParamGroup([c])], learningRate: 0.5);
        state["optimizer.state.0.surprise"] = Tensor.Zeros([1]);
        var ex = Assert.Throws<InvalidDataException>(() => target.LoadStateDict(state))!;
        Assert.That(ex.Message, Does.Contain("1 parameter groups").And.Contain("this optimizer has 2"));
        Assert.That(ex.Message, Does.Contain("'optimizer.state.0.exp_avg' is [5x7]").And.Contain("parameter 0 'param 0' is [7x5]"));
        Assert.That(ex.Message, Does.Contain("'optimizer.state.0.exp_avg_sq' is [5x7]"));
        Assert.That(ex.Message, Does.Contain("unexpected key 'optimizer.state.0.surprise'"));
        Assert.That(target.ParamGroups[0].LearningRate, Is.EqualTo(0.5), "nothing applied");
        Assert.That(target.StepCount(1), Is.EqualTo(0));

        var sgd = new Sgd([w, b], 0.1, momentum: 0.9);
        ex = Assert.Throws<InvalidDataException>(() => sgd.LoadStateDict(source.StateDict()))!;
        Assert.That(ex.Message, Does.Contain("missing 'optimizer.hyper.momentum'").And.Contain("another optimizer than SGD"));
        Assert.That(ex.Message, Does.Contain("unexpected key 'optimizer.state.0.exp_avg'"));
    }

    // ------------------------------------------------------------------ schedules

    [Test]
    public void SchedulesFollowTheirClosedForms()
    {
        var p = Param(new Random(31), [2], DType.Float32);
        var q = Param(new Random(32), [2], DType.Float32);
        var opt = new Sgd([new ParamGroup([p]), new ParamGroup([q], learningRate: 0.01)], 0.1);
        var step = new StepLR(opt, stepSize: 3, gamma: 0.1);
        for (int e = 0; e < 10; e++)
        {
            int decays = e / 3;
            double expected = 0.1, expectedQ = 0.01;
            for (int k = 0; k < decays; k++) { expected *= 0.1; expectedQ *= 0.1; }
            Assert.That(opt.ParamGroups[0].LearningRate, Is.EqualTo(expected).Within(1e-12).Percent, $"StepLR epoch {e}");
            Assert.That(opt.ParamGroups[1].LearningRate, Is.EqualTo(expectedQ).Within(1e-12).Percent, $"StepLR epoch {e} group 1");
            step.Step();
        }

        var opt2 = new Adam([p], 2e-3);
        var poly = new PolyLR(opt2, maxIterations: 7);
        for (int it = 0; it <= 9; it++)
        {
            double expected = 2e-3 * Math.Pow(1 - Math.Min(it, 7) / 7.0, 0.9);
            Assert.That(opt2.ParamGroups[0].LearningRate, Is.EqualTo(expected).Within(1e-18), $"PolyLR iteration {it}");
            poly.Step();
        }
        Assert.That(poly.LastEpoch, Is.EqualTo(10));
    }
}

internal static class EnumerableExtensions
{
    public static IEnumerable<T> Yield<T>(this T item) { yield return item; }
}
