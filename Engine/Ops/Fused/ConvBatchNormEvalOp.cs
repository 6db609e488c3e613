using System.Numerics;
using System.Runtime.Intrinsics;
using Astmt.Engine.Cpu;
using Astmt.Engine.Memory;

namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>
    /// Evaluation-mode <c>BatchNorm2d(Conv2d(x, weight, convBias))</c>, followed by max(·, 0) when <paramref name="relu"/>, for
    /// inference: the convolution runs without its bias and a single pass then applies y·s + t per output channel, with
    /// s = bnWeight/√(runningVar + eps) and t = (convBias − runningMean)·s + bnBias, instead of a bias pass and a batch-norm pass
    /// over the output. Nothing is folded into or cached from the weights, so in-place updates of any parameter or statistic
    /// are seen by the next call. Not differentiable: it throws when a graph is being recorded through it (use the unfused ops
    /// there). Host only; on a device it runs the unfused ops.
    /// </summary>
    public static Tensor Conv2dBatchNormEval(Tensor x, Tensor weight, Tensor? convBias, Tensor? bnWeight, Tensor? bnBias, Tensor runningMean,
        Tensor runningVar, double eps, bool relu, int stride = 1, int padding = 0, int dilation = 1)
    {
        const string op = "conv2d_batch_norm_eval";
        if (Autograd.Autograd.IsRecording(x, weight, convBias) || Autograd.Autograd.IsRecording(x, bnWeight, bnBias))
            throw new InvalidOperationException($"{op}: inference only, but a graph is being recorded through {x.Describe()}; run Conv2d and BatchNorm2d instead.");
        if (!x.Device.IsCpu)
        {
            var conv = Conv2d(x, weight, convBias, stride, padding, dilation);
            var bn = relu ? BatchNormRelu2d(conv, bnWeight, bnBias, runningMean, runningVar, false, 0, eps) : BatchNorm2d(conv, bnWeight, bnBias, runningMean, runningVar, false, 0, eps);
            conv.Dispose();
            return bn;
        }
        int k = weight.Shape[0];
        foreach (var (t, name) in new[] { (convBias, "conv bias"), (bnWeight, "bn weight"), (bnBias, "bn bias"), (runningMean, "running_mean"), (runningVar, "running_var") })
            if (t != null && (t.Rank != 1 || t.Shape[0] != k || t.DType != weight.DType || !t.Device.IsCpu))
                throw new ArgumentException($"{op}: {name} must be a host [K] = [{k}] {weight.DType} tensor for weight {weight.Describe()}, got {t.Describe()}.");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), $"{op}: eps must be positive, got {eps}.");

        var y = Conv2d(x, weight, null, stride, padding, dilation);
        if (y.DType == DType.Float32) ScaleShiftChannels<float>(y, convBias, bnWeight, bnBias, runningMean, runningVar, eps, relu);
        else ScaleShiftChannels<double>(y, convBias, bnWeight, bnBias, runningMean, runningVar, eps, relu);
        return y;
    }

    // y [B,K,P,Q] = y·s + t per channel (then max(·, 0)), in place, rows split over the threads.
    private static void ScaleShiftChannels<T>(Tensor y, Tensor? convBias, Tensor? bnWeight, Tensor? bnBias, Tensor runningMean, Tensor runningVar,
        double eps, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k = y.Shape[1], rows = y.Shape[0] * k, pq = y.Shape[2] * y.Shape[3];
        var scale = BufferPool.Rent<T>(k, clear: false);
        var shift = BufferPool.Rent<T>(k, clear: false);
        try
        {
            ReadOnlySpan<T> mean = Dense(runningMean).Span<T>(), variance = Dense(runningVar).Span<T>();
            ReadOnlySpan<T> b = convBias == null ? default : Dense(convBias).Span<T>();
            ReadOnlySpan<T> gamma = bnWeight == null ? default : Dense(bnWeight).Span<T>(), beta = bnBias == null ? default : Dense(bnBias).Span<T>();
            for (int c = 0; c < k; c++)
            {
                double s = (gamma.IsEmpty ? 1.0 : double.CreateTruncating(gamma[c])) / Math.Sqrt(double.CreateTruncating(variance[c]) + eps);
                scale[c] = T.CreateTruncating(s);
                shift[c] = T.CreateTruncating(((b.IsEmpty ? 0.0 : double.CreateTruncating(b[c])) - double.CreateTruncating(mean[c])) * s +
                                              (beta.IsEmpty ? 0.0 : double.CreateTruncating(beta[c])));
            }
            var data = y.HostArray<T>();
            Parallelism.For(0, rows, Math.Max(1, (1 << 15) / Math.Max(1, pq)), (r0, r1) =>
            {
                for (int r = r0; r < r1; r++) ScaleShiftRow(data.AsSpan(r * pq, pq), scale[r % k], shift[r % k], relu);
            });
        }
        finally
        {
            BufferPool.Return(scale);
            BufferPool.Return(shift);
        }
    }

    private static void ScaleShiftRow<T>(Span<T> row, T scale, T shift, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector256<T>.Count;
        var vs = Vector256.Create(scale);
        var vt = Vector256.Create(shift);
        if (relu)
        {
            for (; i <= row.Length - w; i += w) Vector256.Max(Vector256.Create(row.Slice(i, w)) * vs + vt, Vector256<T>.Zero).CopyTo(row.Slice(i, w));
            for (; i < row.Length; i++) row[i] = T.Max(row[i] * scale + shift, T.Zero);
        }
        else
        {
            for (; i <= row.Length - w; i += w) (Vector256.Create(row.Slice(i, w)) * vs + vt).CopyTo(row.Slice(i, w));
            for (; i < row.Length; i++) row[i] = row[i] * scale + shift;
        }
    }
}
