using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Batch norm over [B,C,H,W] per channel. Training uses batch statistics and updates the running ones in place with
    /// <paramref name="momentum"/> (unbiased variance, as PyTorch); evaluation uses the running ones.</summary>
    public static Tensor BatchNorm2d(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar, bool training,
        double momentum = 0.1, double eps = 1e-5) =>
        BatchNorm("batch_norm", x, weight, bias, runningMean, runningVar, training, momentum, eps, relu: false);

    /// <summary>max(<see cref="BatchNorm2d"/>(…), 0) in one pass forward and one pass backward (the BN+ReLU fusion); same
    /// parameters and running-statistics update as <see cref="BatchNorm2d"/>.</summary>
    public static Tensor BatchNormRelu2d(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar, bool training,
        double momentum = 0.1, double eps = 1e-5) =>
        BatchNorm("batch_norm_relu", x, weight, bias, runningMean, runningVar, training, momentum, eps, relu: true);

    private static Tensor BatchNorm(string op, Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar, bool training,
        double momentum, double eps, bool relu)
    {
        CheckFloat(op, x);
        CheckRank(op, x, 4, "B,C,H,W");
        int batch = x.Shape[0], channels = x.Shape[1], hw = x.Shape[2] * x.Shape[3];
        CheckChannelVector(op, x, weight, "weight");
        CheckChannelVector(op, x, bias, "bias");
        CheckChannelVector(op, x, runningMean, "running_mean");
        CheckChannelVector(op, x, runningVar, "running_var");
        if ((runningMean == null) != (runningVar == null))
            throw new ArgumentException($"{op}: pass both running_mean and running_var or neither.");
        if (!training && runningMean == null)
            throw new ArgumentException($"{op}: evaluation mode needs running_mean and running_var for {x.Describe()}.");
        if (training && (long)batch * hw <= 1)
            throw new ArgumentException($"{op}: expected more than 1 value per channel when training, got input {x.Describe()} (as PyTorch).");
        if (eps <= 0 || momentum < 0 || momentum > 1)
            throw new ArgumentOutOfRangeException(nameof(eps), $"{op}: expected eps > 0 and momentum in [0, 1], got eps {eps}, momentum {momentum}.");

        var xd = Dense(x);
        Tensor? wd = weight == null ? null : Dense(weight), bd = bias == null ? null : Dense(bias);
        // Saved per-channel statistics: the batch's in training, a snapshot of the running ones in evaluation (so a later
        // training step that updates them in place does not change this step's backward).
        var mean = Tensor.NewOutput([channels], x.DType, x.Device);
        var invstd = Tensor.NewOutput([channels], x.DType, x.Device);
        var y = Tensor.NewOutput((int[])x.Shape.Clone(), x.DType, x.Device);
        // Training on the CPU computes the statistics and y per channel while it is in cache, so x is read from memory once.
        bool fused = training && x.Device.IsCpu;
        // A temporary of the op (disposed at once), allocated as op outputs are: while a step is recorded it is step-owned, so it
        // does not count towards the unowned bytes after which the pool induces a collection.
        using (var variance = Tensor.NewOutput([channels], x.DType, x.Device))
        {
            if (fused)
            {
                if (x.DType == DType.Float32)
                    BatchNormKernels.StatisticsAndNormalize(xd.HostArray<float>(), xd.Offset, y.HostArray<float>(), batch, channels, hw, eps,
                        mean.HostArray<float>(), variance.HostArray<float>(), invstd.HostArray<float>(), wd?.HostArray<float>(), wd?.Offset ?? 0,
                        bd?.HostArray<float>(), bd?.Offset ?? 0, relu);
                else
                    BatchNormKernels.StatisticsAndNormalize(xd.HostArray<double>(), xd.Offset, y.HostArray<double>(), batch, channels, hw, eps,
                        mean.HostArray<double>(), variance.HostArray<double>(), invstd.HostArray<double>(), wd?.HostArray<double>(), wd?.Offset ?? 0,
                        bd?.HostArray<double>(), bd?.Offset ?? 0, relu);
                if (runningMean != null) UpdateRunning(op, mean, variance, runningMean, runningVar!, momentum, (double)batch * hw);
            }
            else if (training)
            {
                if (!x.Device.IsCpu) DeviceOps.For(x).BatchNormStatistics(xd, mean, variance);
                else if (x.DType == DType.Float32) BatchNormKernels.Statistics(xd.HostArray<float>(), xd.Offset, batch, channels, hw, mean.HostArray<float>(), variance.HostArray<float>());
                else BatchNormKernels.Statistics(xd.HostArray<double>(), xd.Offset, batch, channels, hw, mean.HostArray<double>(), variance.HostArray<double>());
                if (runningMean != null) UpdateRunning(op, mean, variance, runningMean, runningVar!, momentum, (double)batch * hw);
            }
            else
            {
                mean.CopyFrom(runningMean!);
                variance.CopyFrom(runningVar!);
            }
            if (!fused) InvStdKernel(variance, eps, invstd);
        }

        if (!fused)
        {
            if (!x.Device.IsCpu) DeviceOps.For(x).BatchNormForward(xd, wd, bd, mean, invstd, y, relu);
            else if (x.DType == DType.Float32)
                BatchNormKernels.Normalize(xd.HostArray<float>(), xd.Offset, y.HostArray<float>(), batch, channels, hw, mean.HostArray<float>(), invstd.HostArray<float>(),
                    wd?.HostArray<float>(), wd?.Offset ?? 0, bd?.HostArray<float>(), bd?.Offset ?? 0, relu);
            else
                BatchNormKernels.Normalize(xd.HostArray<double>(), xd.Offset, y.HostArray<double>(), batch, channels, hw, mean.HostArray<double>(), invstd.HostArray<double>(),
                    wd?.HostArray<double>(), wd?.Offset ?? 0, bd?.HostArray<double>(), bd?.Offset ?? 0, relu);
        }

        if (Autograd.Autograd.IsRecording(x, weight, bias))
            return Autograd.Autograd.Record(y, new BatchNormBackward(op, x, weight, bias, mean, invstd, relu ? y : null, training, eps));
        if (!mean.InArena) { mean.Dispose(); invstd.Dispose(); }
        return y;
    }

    private static void CheckChannelVector(string op, Tensor x, Tensor? v, string name)
    {
        if (v == null) return;
        CheckPair(op, x, v);
        if (v.Rank != 1 || v.Shape[0] != x.Shape[1])
            throw new ArgumentException($"{op}: {name} must be [C] = [{x.Shape[1]}] for input {x.Describe()}, got {v.Describe()}.");
    }

    // running = (1 − momentum)·running + momentum·batch, with the unbiased variance (PyTorch's convention), in place.
    private static void UpdateRunning(string op, Tensor mean, Tensor variance, Tensor runningMean, Tensor runningVar, double momentum, double n)
    {
        double unbias = n / (n - 1);
        if (!mean.Device.IsCpu)
        {
            DeviceOps.For(mean).BatchNormUpdateRunning(mean, variance, runningMean, runningVar, momentum, unbias);
            return;
        }
        if (!runningMean.IsContiguous || !runningVar.IsContiguous)
            throw new ArgumentException($"{op}: running statistics are updated in place and must be contiguous; got {runningMean.Describe()} and {runningVar.Describe()}.");
        if (mean.DType == DType.Float32)
        {
            Span<float> rm = runningMean.Span<float>(), rv = runningVar.Span<float>(), m = mean.Span<float>(), v = variance.Span<float>();
            for (int c = 0; c < rm.Length; c++)
            {
                rm[c] = (float)((1 - momentum) * rm[c] + momentum * m[c]);
                rv[c] = (float)((1 - momentum) * rv[c] + momentum * v[c] * unbias);
            }
        }
        else
        {
            Span<double> rm = runningMean.Span<double>(), rv = runningVar.Span<double>(), m = mean.Span<double>(), v = variance.Span<double>();
            for (int c = 0; c < rm.Length; c++)
            {
                rm[c] = (1 - momentum) * rm[c] + momentum * m[c];
                rv[c] = (1 - momentum) * rv[c] + momentum * v[c] * unbias;
            }
        }
    }

    private static void InvStdKernel(Tensor variance, double eps, Tensor invstd)
    {
        if (!variance.Device.IsCpu) { DeviceOps.For(variance).BatchNormInvStd(variance, eps, invstd); return; }
        var src = Dense(variance);
        if (variance.DType == DType.Float32)
        {
            Span<float> v = src.Span<float>(), r = invstd.Span<float>();
            for (int i = 0; i < v.Length; i++) r[i] = (float)(1 / Math.Sqrt(v[i] + eps));
        }
        else
        {
            Span<double> v = src.Span<double>(), r = invstd.Span<double>();
            for (int i = 0; i < v.Length; i++) r[i] = 1 / Math.Sqrt(v[i] + eps);
        }
    }

    /// <summary>1/√(variance + eps), differentiable (the create-graph path of batch norm).</summary>
    private static Tensor BatchNormInvStd(Tensor variance, double eps)
    {
        var r = Tensor.NewOutputLike(variance);
        InvStdKernel(variance, eps, r);
        if (Autograd.Autograd.IsRecording(variance)) Autograd.Autograd.Record(r, new InvStdBackward(variance, r));
        return r;
    }

    // d/dv (v + eps)^(-1/2) = −½·r³, written with r itself so that it differentiates again.
    private sealed class InvStdBackward(Tensor variance, Tensor r) : Node("batch_norm_invstd", variance)
    {
        private Tensor? _r = r;
        public override Tensor?[] Backward(Tensor g) => [Mul(Mul(g, Mul(Mul(_r!, _r!), _r!)), -0.5)];
        protected override void ReleaseSaved() => _r = null;
    }

    /// <summary>1 where y &gt; 0, else 0: the ReLU gradient mask (a constant of the graph).</summary>
    private static Tensor PositiveMask(Tensor y)
    {
        if (!y.Device.IsCpu) return Greater(y, 0);
        var mask = Tensor.NewOutputLike(y);
        var src = Dense(y);
        if (y.DType == DType.Float32)
        {
            Span<float> s = src.Span<float>(), m = mask.Span<float>();
            for (int i = 0; i < s.Length; i++) m[i] = s[i] > 0 ? 1f : 0f;
        }
        else
        {
            Span<double> s = src.Span<double>(), m = mask.Span<double>();
            for (int i = 0; i < s.Length; i++) m[i] = s[i] > 0 ? 1.0 : 0.0;
        }
        return mask;
    }

    private sealed class BatchNormBackward(string op, Tensor x, Tensor? weight, Tensor? bias, Tensor mean, Tensor invstd, Tensor? y, bool training, double eps)
        : Node(op, x, weight, bias)
    {
        private Tensor? _x = x, _weight = weight, _bias = bias, _mean = mean, _invstd = invstd, _y = y;

        public override Tensor?[] Backward(Tensor gy) =>
            GradMode.Enabled ? Differentiable(gy) : Fused(gy);

        // One pass over the data per channel; used when no graph of the gradient is being built.
        private Tensor?[] Fused(Tensor gy)
        {
            var x = _x!;
            int batch = x.Shape[0], channels = x.Shape[1], hw = x.Shape[2] * x.Shape[3];
            Tensor? gx = NeedsGrad(0) ? Tensor.NewOutputLike(x) : null;
            Tensor? gw = NeedsGrad(1) ? Tensor.NewOutput([channels], x.DType, x.Device) : null;
            Tensor? gb = NeedsGrad(2) ? Tensor.NewOutput([channels], x.DType, x.Device) : null;
            Tensor xd = Dense(x), gyd = Dense(gy);
            Tensor? wd = _weight == null ? null : Dense(_weight), bd = _bias == null ? null : Dense(_bias);
            // On the CPU the ReLU mask is recomputed from x (the forward's own float expression) rather than read from y.
            bool relu = _y != null;
            if (!x.Device.IsCpu) DeviceOps.For(x).BatchNormBackward(xd, _y, gyd, wd, _mean!, _invstd!, training, gx, gw, gb);
            else if (x.DType == DType.Float32)
                BatchNormKernels.Backward(xd.HostArray<float>(), xd.Offset, null, gyd.HostArray<float>(), gyd.Offset,
                    batch, channels, hw, _mean!.HostArray<float>(), _invstd!.HostArray<float>(), wd?.HostArray<float>(), wd?.Offset ?? 0, training,
                    gx?.HostArray<float>(), gw?.HostArray<float>(), gb?.HostArray<float>(), relu, bd?.HostArray<float>(), bd?.Offset ?? 0);
            else
                BatchNormKernels.Backward(xd.HostArray<double>(), xd.Offset, null, gyd.HostArray<double>(), gyd.Offset,
                    batch, channels, hw, _mean!.HostArray<double>(), _invstd!.HostArray<double>(), wd?.HostArray<double>(), wd?.Offset ?? 0, training,
                    gx?.HostArray<double>(), gw?.HostArray<double>(), gb?.HostArray<double>(), relu, bd?.HostArray<double>(), bd?.Offset ?? 0);
            return [gx, gw, gb];
        }

        // The same formulas composed of differentiable ops, so that create-graph backward can differentiate them again. In
        // training the statistics are recomputed from x so that their dependence on x is part of the graph.
        private Tensor?[] Differentiable(Tensor gy)
        {
            var x = _x!;
            int channels = x.Shape[1];
            int[] perChannel = [1, channels, 1, 1];
            int[] dims = [0, 2, 3];
            var g = _y == null ? gy : Mul(gy, PositiveMask(_y));
            Tensor xhat, scale;
            Tensor? gx = null;
            if (training)
            {
                var xc = Sub(x, Mean(x, dims, keepDim: true));
                var invstd = BatchNormInvStd(Mean(Mul(xc, xc), dims, keepDim: true), eps);
                xhat = Mul(xc, invstd);
                scale = _weight == null ? invstd : Mul(Reshape(_weight, perChannel), invstd);
                if (NeedsGrad(0))
                    gx = Mul(scale, Sub(Sub(g, Mean(g, dims, keepDim: true)), Mul(xhat, Mean(Mul(g, xhat), dims, keepDim: true))));
            }
            else
            {
                var invstd = Reshape(_invstd!, perChannel);
                xhat = Mul(Sub(x, Reshape(_mean!, perChannel)), invstd);
                scale = _weight == null ? invstd : Mul(Reshape(_weight, perChannel), invstd);
                if (NeedsGrad(0)) gx = Mul(g, scale);
            }
            var gw = NeedsGrad(1) ? Sum(Mul(g, xhat), dims) : null;
            var gb = NeedsGrad(2) ? Sum(g, dims) : null;
            return [gx, gw, gb];
        }

        protected override void ReleaseSaved() { _x = null; _weight = null; _bias = null; _mean = null; _invstd = null; _y = null; }
    }
}
