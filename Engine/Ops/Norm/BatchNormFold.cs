namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>
    /// Folds an evaluation-mode batch norm that follows a convolution into the convolution (the Conv+BN fusion for inference):
    /// with s = bnWeight / √(runningVar + eps), the folded weight [K,C,R,S] is convWeight·s per output channel and the folded
    /// bias [K] is (convBias − runningMean)·s + bnBias, so <c>Conv2d(x, w', b')</c> equals
    /// <c>BatchNorm2d(Conv2d(x, w, b), …, training: false)</c>. Computed in float64; the results have the weight's dtype and
    /// device, carry no gradient history and belong to the caller.
    /// </summary>
    public static (Tensor Weight, Tensor Bias) FoldBatchNormIntoConv(Tensor convWeight, Tensor? convBias, Tensor? bnWeight, Tensor? bnBias,
        Tensor runningMean, Tensor runningVar, double eps = 1e-5)
    {
        const string op = "fold_batch_norm";
        CheckFloat(op, convWeight);
        if (convWeight.Rank != 4) throw new ArgumentException($"{op}: expected a convolution weight [K,C,R,S], got {convWeight.Describe()}.");
        int k = convWeight.Shape[0];
        foreach (var (t, name) in new[] { (convBias, "conv bias"), (bnWeight, "bn weight"), (bnBias, "bn bias"), (runningMean, "running_mean"), (runningVar, "running_var") })
            if (t != null && (t.Rank != 1 || t.Shape[0] != k))
                throw new ArgumentException($"{op}: {name} must be [K] = [{k}] for weight {convWeight.Describe()}, got {t.Describe()}.");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"{op}: eps must be positive, got {eps}.");

        var w = convWeight.ToDoubleArray();
        double[] mean = runningMean.ToDoubleArray(), variance = runningVar.ToDoubleArray();
        double[]? b = convBias?.ToDoubleArray(), gamma = bnWeight?.ToDoubleArray(), beta = bnBias?.ToDoubleArray();
        var foldedBias = new double[k];
        int perChannel = w.Length / Math.Max(k, 1);
        for (int c = 0; c < k; c++)
        {
            double s = (gamma?[c] ?? 1.0) / Math.Sqrt(variance[c] + eps);
            for (int i = 0; i < perChannel; i++) w[c * perChannel + i] *= s;
            foldedBias[c] = ((b?[c] ?? 0.0) - mean[c]) * s + (beta?[c] ?? 0.0);
        }
        return (HostTensor(w, convWeight.Shape, convWeight), HostTensor(foldedBias, [k], convWeight));
    }

    // A caller-owned tensor with the dtype and device of like.
    private static Tensor HostTensor(double[] values, int[] shape, Tensor like)
    {
        var host = like.DType == DType.Float32
            ? Tensor.FromArray(Array.ConvertAll(values, v => (float)v), (int[])shape.Clone())
            : Tensor.FromArray(values, (int[])shape.Clone());
        if (like.Device.IsCpu) return host;
        using (host) return host.To(like.Device);
    }
}
