using System.Numerics;
using Astmt.Engine.Autograd;

namespace Astmt.Engine.Ops;

/// <summary>How a loss reduces its per-element values.</summary>
public enum LossReduction
{
    /// <summary>Mean over the counted elements (ignored ones excluded).</summary>
    Mean,
    /// <summary>Sum over the counted elements.</summary>
    Sum,
    /// <summary>No reduction: the per-element loss map.</summary>
    None,
}

public static partial class F
{
    /// <summary>Negative log-likelihood of log-probabilities [B,C,...] against Int64 targets [B,...]; targets equal to
    /// <paramref name="ignoreIndex"/> are skipped (mean over the rest, as PyTorch: NaN when every target is ignored).</summary>
    public static Tensor NllLoss(Tensor logProbs, Tensor target, int ignoreIndex = -100, LossReduction reduction = LossReduction.Mean)
    {
        const string op = "nll_loss";
        CheckFloat(op, logProbs);
        DeviceOps.CheckSameDevice(op, logProbs, target);
        if (target.DType != DType.Int64) throw new ArgumentException($"{op}: targets must be Int64 class indices, got {target.Describe()}.");
        if (logProbs.Rank < 2) throw new ArgumentException($"{op}: expected log-probabilities [B,C,...] of rank 2 or more, got {logProbs.Describe()}.");
        var expected = new List<int>(logProbs.Shape);
        expected.RemoveAt(1);
        if (!ShapeUtil.Same(target.Shape, expected.ToArray()))
            throw new ArgumentException($"{op}: targets must have shape {ShapeUtil.Format(expected.ToArray())} for log-probabilities {logProbs.Describe()}, got {target.Describe()}.");

        var (outer, classes, inner) = AlongDim(logProbs.Shape, 1);
        var losses = Tensor.NewOutput((int[])target.Shape.Clone(), logProbs.DType, logProbs.Device);
        var lp = Dense(logProbs);
        var tg = Dense(target);
        long counted = !logProbs.Device.IsCpu
            ? DeviceOps.For(logProbs).NllLoss(lp, tg, losses, outer, classes, inner, ignoreIndex)
            : logProbs.DType == DType.Float32
                ? NllKernel.Forward<float>(lp, tg, losses, classes, inner, ignoreIndex)
                : NllKernel.Forward<double>(lp, tg, losses, classes, inner, ignoreIndex);
        ReleaseTemporary(lp, logProbs);
        ReleaseTemporary(tg, target);

        Tensor y = reduction switch
        {
            LossReduction.None => losses,
            LossReduction.Sum => Sum(losses),
            // 0/0 when every target is ignored: NaN, as PyTorch.
            _ => Mul(Sum(losses), counted == 0 ? double.NaN : 1.0 / counted),
        };
        if (reduction != LossReduction.None) losses.Dispose();
        if (Autograd.Autograd.IsRecording(logProbs))
            Autograd.Autograd.Record(y, new NllBackward(logProbs, target, ignoreIndex, reduction, counted));
        return y;
    }

    private sealed class NllBackward(Tensor logProbs, Tensor target, int ignoreIndex, LossReduction reduction, long counted)
        : Node("nll_loss", logProbs)
    {
        private Tensor? _target = target;
        private readonly int[] _shape = logProbs.Shape;
        private readonly DType _dtype = logProbs.DType;
        private readonly Device _device = logProbs.Device;

        public override Tensor?[] Backward(Tensor g)
        {
            double scale = reduction == LossReduction.Mean ? (counted == 0 ? double.NaN : -1.0 / counted) : -1.0;
            // A constant map (scale at each target class, 0 elsewhere and at ignored pixels) times g: linear in g, so the
            // create-graph pass differentiates it through Mul.
            var weights = NllGradWeights(_target!, _shape, _dtype, _device, ignoreIndex, scale);
            return [reduction == LossReduction.None ? Mul(weights, Unsqueeze(g, 1)) : Mul(weights, g)];
        }

        protected override void ReleaseSaved() => _target = null;
    }

    private static Tensor NllGradWeights(Tensor target, int[] shape, DType dtype, Device device, int ignoreIndex, double scale)
    {
        var (outer, classes, inner) = AlongDim(shape, 1);
        var w = Tensor.NewOutput((int[])shape.Clone(), dtype, device, clear: device.IsCpu);
        var tg = Dense(target);
        if (!device.IsCpu) DeviceOps.For(w).NllGradWeights(tg, w, outer, classes, inner, ignoreIndex, scale);
        else if (dtype == DType.Float32) NllKernel.GradWeights<float>(tg, w, classes, inner, ignoreIndex, (float)scale);
        else NllKernel.GradWeights<double>(tg, w, classes, inner, ignoreIndex, scale);
        ReleaseTemporary(tg, target);
        return w;
    }

    /// <summary>log_softmax over dim 1 then NLL.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, int ignoreIndex = -100, LossReduction reduction = LossReduction.Mean)
    {
        if (logits.Rank < 2) throw new ArgumentException($"cross_entropy: expected logits [B,C,...] of rank 2 or more, got {logits.Describe()}.");
        return NllLoss(LogSoftmax(logits, 1), target, ignoreIndex, reduction);
    }
}

/// <summary>NLL over dense log-probabilities viewed as [B, C, inner] and Int64 targets [B, inner].</summary>
internal static class NllKernel
{
    /// <summary>Writes −logp[b, t, i] per target (0 where ignored) and returns how many targets were counted.</summary>
    public static long Forward<T>(Tensor logProbs, Tensor target, Tensor losses, int classes, int inner, int ignoreIndex)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var lp = logProbs.Span<T>();
        var tg = target.Span<long>();
        var loss = losses.Span<T>();
        long counted = 0;
        for (int p = 0; p < tg.Length; p++)
        {
            long t = tg[p];
            if (t == ignoreIndex) { loss[p] = T.Zero; continue; }
            if ((ulong)t >= (ulong)classes)
                throw new ArgumentException($"nll_loss: target {t} at flat position {p} is outside [0, {classes}) and is not the ignore index {ignoreIndex}.");
            int b = p / inner, i = p % inner;
            loss[p] = -lp[(b * classes + (int)t) * inner + i];
            counted++;
        }
        return counted;
    }

    /// <summary>Fills zero-filled <paramref name="weights"/> [B, C, inner] with <paramref name="scale"/> at each counted target.</summary>
    public static void GradWeights<T>(Tensor target, Tensor weights, int classes, int inner, int ignoreIndex, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var tg = target.Span<long>();
        var w = weights.Span<T>();
        for (int p = 0; p < tg.Length; p++)
        {
            long t = tg[p];
            if (t == ignoreIndex) continue;
            int b = p / inner, i = p % inner;
            w[(b * classes + (int)t) * inner + i] = scale;
        }
    }
}
