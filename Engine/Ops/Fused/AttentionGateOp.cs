using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

// The MTAN attention gate as one op: shared ⊙ sigmoid(BN(conv1x1(h))). Forward keeps only the conv output z and the mask a
// (the unfused chain keeps z, the BN output, a and their gradients as separate tensors); backward makes one pass for the
// gradient of the shared feature and of the BN output, then reuses the fused batch-norm and 1x1-conv backward kernels.
public static partial class F
{
    /// <summary>
    /// The MTAN attention gate: <c>shared ⊙ σ(BatchNorm2d(Conv2d(h, weight, bias)))</c> with a 1x1 convolution. h [B,C,H,W],
    /// weight [K,C,1,1], bias [K], BN parameters and running statistics [K], shared [B,K,H,W] → [B,K,H,W]. Training uses the
    /// batch statistics and updates the running ones in place, as <see cref="BatchNorm2d"/>. Differentiable to any order
    /// (create-graph passes fall back to the unfused composition).
    /// </summary>
    public static Tensor AttentionGate(Tensor h, Tensor weight, Tensor? bias, Tensor? bnWeight, Tensor? bnBias, Tensor? runningMean, Tensor? runningVar,
        bool training, Tensor shared, double momentum = 0.1, double eps = 1e-5)
    {
        const string op = "attention_gate";
        CheckFloat(op, h);
        CheckRank(op, h, 4, "B,C,H,W");
        CheckPair(op, h, weight);
        CheckPair(op, h, shared);
        if (weight.Rank != 4 || weight.Shape[1] != h.Shape[1] || weight.Shape[2] != 1 || weight.Shape[3] != 1)
            throw new ArgumentException($"{op}: weight must be a 1x1 convolution [K,{h.Shape[1]},1,1] for h {h.Describe()}, got {weight.Describe()}.");
        int k = weight.Shape[0];
        if (shared.Rank != 4 || shared.Shape[0] != h.Shape[0] || shared.Shape[1] != k || shared.Shape[2] != h.Shape[2] || shared.Shape[3] != h.Shape[3])
            throw new ArgumentException($"{op}: shared must be [B,K,H,W] = [{h.Shape[0]}x{k}x{h.Shape[2]}x{h.Shape[3]}] for h {h.Describe()} and weight {weight.Describe()}, got {shared.Describe()}.");
        if (!h.Device.IsCpu) return AttentionGateComposed(h, weight, bias, bnWeight, bnBias, runningMean, runningVar, training, shared, momentum, eps);

        // z = conv1x1(h) without recording; the gate node is the only one on the tape. While a step is being recorded z is
        // allocated as step-owned (not made caller-owned and then registered), so it is not counted as unowned memory
        // (BufferPool.BeforeUnownedRent), which would induce a collection every few steps.
        Tensor z;
        if (StepArena.ShouldOwnOutputs)
        {
            using (StepArena.OwnOutputs())
            using (Autograd.Autograd.NoGrad()) z = Conv2d(h, weight, bias);
        }
        else
        {
            using (Autograd.Autograd.NoGrad()) z = Conv2d(h, weight, bias);
        }
        var stats = BatchNormStatistics(op, z, runningMean, runningVar, training, momentum, eps);
        var mask = Tensor.NewOutputLike(z);
        var y = Tensor.NewOutputLike(z);
        var sd = Dense(shared);
        Tensor? gammaD = bnWeight == null ? null : Dense(bnWeight), betaD = bnBias == null ? null : Dense(bnBias);
        if (h.DType == DType.Float32) FusedGateKernels.Forward<float>(z, stats.Mean, stats.InvStd, gammaD, betaD, sd, mask, y);
        else FusedGateKernels.Forward<double>(z, stats.Mean, stats.InvStd, gammaD, betaD, sd, mask, y);

        if (Autograd.Autograd.IsRecording([h, weight, bias, bnWeight, bnBias, shared]))
            return Autograd.Autograd.Record(y, new AttentionGateBackward(h, weight, bias, bnWeight, bnBias, shared, z, mask, stats, training, eps));
        if (!stats.Mean.InArena) { stats.Mean.Dispose(); stats.InvStd.Dispose(); stats.Variance.Dispose(); }
        if (!z.InArena) { z.Dispose(); mask.Dispose(); }
        return y;
    }

    /// <summary>The gate as the chain of separate ops (the oracle of the fused op and its create-graph path).</summary>
    internal static Tensor AttentionGateComposed(Tensor h, Tensor weight, Tensor? bias, Tensor? bnWeight, Tensor? bnBias, Tensor? runningMean,
        Tensor? runningVar, bool training, Tensor shared, double momentum, double eps) =>
        Mul(Sigmoid(BatchNorm2d(Conv2d(h, weight, bias), bnWeight, bnBias, runningMean, runningVar, training, momentum, eps)), shared);

    /// <summary>Per-channel statistics a fused BN op saves: mean and 1/√(var + eps) (batch ones in training, a snapshot of the
    /// running ones in evaluation) and the variance itself (for the create-graph path in evaluation).</summary>
    internal readonly record struct ChannelStatistics(Tensor Mean, Tensor Variance, Tensor InvStd);

    /// <summary>The statistics of x [B,C,H,W] that batch norm normalises with; in training also updates the running ones.</summary>
    internal static ChannelStatistics BatchNormStatistics(string op, Tensor x, Tensor? runningMean, Tensor? runningVar, bool training, double momentum, double eps)
    {
        int batch = x.Shape[0], channels = x.Shape[1], hw = x.Shape[2] * x.Shape[3];
        CheckChannelVector(op, x, runningMean, "running_mean");
        CheckChannelVector(op, x, runningVar, "running_var");
        if ((runningMean == null) != (runningVar == null)) throw new ArgumentException($"{op}: pass both running_mean and running_var or neither.");
        if (!training && runningMean == null) throw new ArgumentException($"{op}: evaluation mode needs running_mean and running_var for {x.Describe()}.");
        if (training && (long)batch * hw <= 1)
            throw new ArgumentException($"{op}: expected more than 1 value per channel when training, got {x.Describe()} (as PyTorch).");
        if (eps <= 0 || momentum < 0 || momentum > 1)
            throw new ArgumentOutOfRangeException(nameof(eps), $"{op}: expected eps > 0 and momentum in [0, 1], got eps {eps}, momentum {momentum}.");
        var mean = Tensor.NewOutput([channels], x.DType, x.Device);
        var variance = Tensor.NewOutput([channels], x.DType, x.Device);
        var invstd = Tensor.NewOutput([channels], x.DType, x.Device);
        if (training)
        {
            var xd = Dense(x);
            if (x.DType == DType.Float32) BatchNormKernels.Statistics(xd.HostArray<float>(), xd.Offset, batch, channels, hw, mean.HostArray<float>(), variance.HostArray<float>());
            else BatchNormKernels.Statistics(xd.HostArray<double>(), xd.Offset, batch, channels, hw, mean.HostArray<double>(), variance.HostArray<double>());
            if (runningMean != null) UpdateRunning(op, mean, variance, runningMean, runningVar!, momentum, (double)batch * hw);
        }
        else
        {
            mean.CopyFrom(runningMean!);
            variance.CopyFrom(runningVar!);
        }
        InvStdKernel(variance, eps, invstd);
        return new ChannelStatistics(mean, variance, invstd);
    }

    private sealed class AttentionGateBackward(Tensor h, Tensor weight, Tensor? bias, Tensor? bnWeight, Tensor? bnBias, Tensor shared, Tensor z, Tensor mask,
        ChannelStatistics stats, bool training, double eps) : Node("attention_gate", h, weight, bias, bnWeight, bnBias, shared)
    {
        private Tensor? _h = h, _weight = weight, _bias = bias, _bnWeight = bnWeight, _bnBias = bnBias, _shared = shared, _z = z, _mask = mask;
        private ChannelStatistics? _stats = stats;

        public override Tensor?[] Backward(Tensor gy) => GradMode.Enabled ? Differentiable(gy) : Fused(gy);

        private Tensor?[] Fused(Tensor gy)
        {
            Tensor z = _z!, w = _weight!;
            var st = _stats!.Value;
            int batch = z.Shape[0], channels = z.Shape[1], hw = z.Shape[2] * z.Shape[3];
            var gyd = Dense(gy);
            // Pass 1: the gradient of the shared feature (g·a) and of the BN output (g·shared·a·(1 − a)).
            var gShared = NeedsGrad(5) ? Tensor.NewOutputLike(z) : null;
            var gBn = Tensor.NewOutputLike(z);
            if (z.DType == DType.Float32) FusedGateKernels.Backward<float>(gyd, Dense(_shared!), _mask!, gShared, gBn);
            else FusedGateKernels.Backward<double>(gyd, Dense(_shared!), _mask!, gShared, gBn);
            if (!NeedsGrad(0) && !NeedsGrad(1) && !NeedsGrad(2) && !NeedsGrad(3) && !NeedsGrad(4)) return [null, null, null, null, null, gShared];

            // Pass 2 and 3: the fused batch-norm backward gives the gradient of z and of γ, β.
            bool convNeeds = NeedsGrad(0) || NeedsGrad(1) || NeedsGrad(2);
            var gz = convNeeds ? Tensor.NewOutputLike(z) : null;
            var gGamma = NeedsGrad(3) ? Tensor.NewOutput([channels], z.DType, z.Device) : null;
            var gBeta = NeedsGrad(4) ? Tensor.NewOutput([channels], z.DType, z.Device) : null;
            Tensor? gammaD = _bnWeight == null ? null : Dense(_bnWeight);
            if (z.DType == DType.Float32)
                BatchNormKernels.Backward(z.HostArray<float>(), 0, null, gBn.HostArray<float>(), 0, batch, channels, hw, st.Mean.HostArray<float>(), st.InvStd.HostArray<float>(),
                    gammaD?.HostArray<float>(), gammaD?.Offset ?? 0, training, gz?.HostArray<float>(), gGamma?.HostArray<float>(), gBeta?.HostArray<float>());
            else
                BatchNormKernels.Backward(z.HostArray<double>(), 0, null, gBn.HostArray<double>(), 0, batch, channels, hw, st.Mean.HostArray<double>(), st.InvStd.HostArray<double>(),
                    gammaD?.HostArray<double>(), gammaD?.Offset ?? 0, training, gz?.HostArray<double>(), gGamma?.HostArray<double>(), gBeta?.HostArray<double>());
            gBn.ReleaseStorage();
            if (gz == null) return [null, null, null, gGamma, gBeta, gShared];

            // The 1x1 convolution's backward: straight GEMMs.
            Tensor? gh = NeedsGrad(0) ? Conv2dInputGrad(gz, w, z.Shape[2], z.Shape[3]) : null;
            Tensor? gw = NeedsGrad(1) ? Conv2dWeightGrad(_h!, gz, 1, 1) : null;
            Tensor? gb = NeedsGrad(2) ? Sum(gz, BatchAndSpatialDims) : null;
            // gz has been read; returning it to the pool now keeps the backward peak low.
            gz.ReleaseStorage();
            return [gh, gw, gb, gGamma, gBeta, gShared];
        }

        // Create-graph: rebuild the unfused chain from the saved inputs (statistics recomputed in training, the running-statistics
        // snapshot in evaluation; no running update) and differentiate it, so the result is differentiable again.
        private Tensor?[] Differentiable(Tensor gy)
        {
            var st = _stats!.Value;
            var chain = training
                ? AttentionGateComposed(_h!, _weight!, _bias, _bnWeight, _bnBias, null, null, true, _shared!, 0.0, eps)
                : AttentionGateComposed(_h!, _weight!, _bias, _bnWeight, _bnBias, st.Mean, st.Variance, false, _shared!, 0.0, eps);
            return GradOfChain(chain, Inputs, gy);
        }

        protected override void ReleaseSaved()
        {
            _h = _weight = _bias = _bnWeight = _bnBias = _shared = _z = _mask = null;
            _stats = null;
        }
    }

    /// <summary>Gradients of <paramref name="chain"/> (seeded with <paramref name="gy"/>) for each non-null input, as a graph.</summary>
    internal static Tensor?[] GradOfChain(Tensor chain, Tensor?[] inputs, Tensor gy)
    {
        var targets = new List<Tensor>();
        foreach (var t in inputs) if (t != null && !targets.Contains(t)) targets.Add(t);
        var grads = Autograd.Autograd.Grad([chain], targets.ToArray(), [gy], createGraph: true);
        var result = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] is { } t) result[i] = grads[targets.IndexOf(t)] ?? ZerosLike(t);
        // An input used twice (say h = shared) receives its gradient once per slot from the engine; keep it only in the first.
        for (int i = 0; i < inputs.Length; i++)
            for (int j = 0; j < i; j++)
                if (inputs[i] != null && ReferenceEquals(inputs[i], inputs[j])) { result[i] = null; break; }
        return result;
    }

    private static Tensor ZerosLike(Tensor t) => Tensor.NewOutput((int[])t.Shape.Clone(), t.DType, t.Device, clear: true);
}
