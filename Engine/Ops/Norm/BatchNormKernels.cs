using System.Numerics;
using System.Runtime.Intrinsics;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

/// <summary>
/// CPU batch norm over x [B,C,H·W], one channel per work item: statistics, normalisation (optionally fused with ReLU) and the
/// fused backward. Loops run on Vector256 in the tensor's precision; sums go to float64 every <see cref="Block"/> elements.
/// Each channel is reduced by one thread in a fixed order, so results do not depend on the thread count.
/// </summary>
internal static class BatchNormKernels
{
    /// <summary>Elements summed in the tensor's precision before the partial sum moves to a float64 accumulator.</summary>
    private const int Block = 1024;

    /// <summary>mean [C] and biased variance [C] of x [B,C,HW] over B and HW (two passes).</summary>
    public static void Statistics<T>(T[] x, int xOff, int batch, int channels, int hw, T[] mean, T[] variance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(0, channels, MinChannels(batch * hw), new StatisticsArgs<T>(x, xOff, batch, channels, hw, mean, variance),
            static (in StatisticsArgs<T> a, int c0, int c1) =>
        {
            var (x, xOff, batch, channels, hw, mean, variance) = a;
            for (int c = c0; c < c1; c++) ChannelStatistics(x, xOff, batch, channels, hw, c, out mean[c], out variance[c]);
        });
    }

    /// <summary>Mean and biased variance of channel <paramref name="c"/> (two passes, float64 accumulation).</summary>
    private static void ChannelStatistics<T>(T[] x, int xOff, int batch, int channels, int hw, int c, out T mean, out T variance)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double n = (double)batch * hw;
        double s = 0;
        for (int b = 0; b < batch; b++) s += VectorMath.Sum<T>(x.AsSpan(xOff + (b * channels + c) * hw, hw));
        double m = s / n, ss = 0;
        for (int b = 0; b < batch; b++) ss += SumSquaredDeviation<T>(x.AsSpan(xOff + (b * channels + c) * hw, hw), m);
        mean = T.CreateTruncating(m);
        variance = T.CreateTruncating(ss / n);
    }

    /// <summary>
    /// Training forward in one pass over the channels: each channel's mean and biased variance (as <see cref="Statistics{T}"/>),
    /// invstd = 1/√(variance + eps) rounded as the op's invstd kernel rounds it, then y as <see cref="Normalize{T}"/> computes
    /// it, while the channel is still in L2. Separate statistics and normalisation passes read x from memory twice. Results
    /// are bit-identical to those kernels run one after the other.
    /// </summary>
    public static void StatisticsAndNormalize<T>(T[] x, int xOff, T[] y, int batch, int channels, int hw, double eps, T[] mean, T[] variance, T[] invstd,
        T[]? weight, int wOff, T[]? bias, int bOff, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(0, channels, MinChannels(batch * hw),
            new TrainingForwardArgs<T>(x, xOff, y, batch, channels, hw, eps, mean, variance, invstd, weight, wOff, bias, bOff, relu),
            static (in TrainingForwardArgs<T> a, int c0, int c1) =>
        {
            var (x, xOff, y, batch, channels, hw, eps, mean, variance, invstd, weight, wOff, bias, bOff, relu) = a;
            for (int c = c0; c < c1; c++)
            {
                ChannelStatistics(x, xOff, batch, channels, hw, c, out mean[c], out variance[c]);
                invstd[c] = T.CreateTruncating(1 / Math.Sqrt(double.CreateTruncating(variance[c]) + eps));
                NormalizeChannel(x, xOff, y, batch, channels, hw, c, mean, invstd, weight, wOff, bias, bOff, relu);
            }
        });
    }

    /// <summary>y = (x − mean)·invstd·weight + bias per channel, then max(·, 0) when <paramref name="relu"/>.</summary>
    public static void Normalize<T>(T[] x, int xOff, T[] y, int batch, int channels, int hw, T[] mean, T[] invstd,
        T[]? weight, int wOff, T[]? bias, int bOff, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(0, channels, MinChannels(batch * hw), new NormalizeArgs<T>(x, xOff, y, batch, channels, hw, mean, invstd, weight, wOff, bias, bOff, relu),
            static (in NormalizeArgs<T> a, int c0, int c1) =>
        {
            var (x, xOff, y, batch, channels, hw, mean, invstd, weight, wOff, bias, bOff, relu) = a;
            for (int c = c0; c < c1; c++) NormalizeChannel(x, xOff, y, batch, channels, hw, c, mean, invstd, weight, wOff, bias, bOff, relu);
        });
    }

    /// <summary>y = x·scale + shift (then max with 0) over channel <paramref name="c"/>.</summary>
    private static void NormalizeChannel<T>(T[] x, int xOff, T[] y, int batch, int channels, int hw, int c, T[] mean, T[] invstd,
        T[]? weight, int wOff, T[]? bias, int bOff, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T scale = invstd[c] * (weight == null ? T.One : weight[wOff + c]);
        T shift = (bias == null ? T.Zero : bias[bOff + c]) - mean[c] * scale;
        for (int b = 0; b < batch; b++)
            ScaleShift<T>(x.AsSpan(xOff + (b * channels + c) * hw, hw), scale, shift, relu, y.AsSpan((b * channels + c) * hw, hw));
    }

    /// <summary>
    /// The fused backward. For BN+ReLU the incoming gradient is first masked by y &gt; 0: with <paramref name="y"/> given, read
    /// from it; with <paramref name="reluFromInput"/>, recomputed from x as x·scale + shift &gt; 0 with the scale and shift
    /// <see cref="Normalize{T}"/> used (<paramref name="bias"/> is the forward's), which is the same float comparison and
    /// saves reading y, a fifth of the memory traffic of this memory-bound kernel. Then gweight = Σ g·x̂, gbias = Σ g, and
    /// gx = weight·invstd·(g − mean(g) − x̂·mean(g·x̂)) in training or weight·invstd·g in evaluation. Any of gx, gweight,
    /// gbias may be null when not needed.
    /// </summary>
    public static void Backward<T>(T[] x, int xOff, T[]? y, T[] gy, int gyOff, int batch, int channels, int hw, T[] mean, T[] invstd,
        T[]? weight, int wOff, bool training, T[]? gx, T[]? gWeight, T[]? gBias, bool reluFromInput = false, T[]? bias = null, int bOff = 0)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (reluFromInput && y != null) throw new ArgumentException("batch_norm backward: pass either y or reluFromInput for the ReLU mask, not both.");
        Parallelism.For(0, channels, MinChannels(batch * hw),
            new BackwardArgs<T>(x, xOff, y, gy, gyOff, batch, channels, hw, mean, invstd, weight, wOff, training, gx, gWeight, gBias, reluFromInput, bias, bOff),
            static (in BackwardArgs<T> a, int c0, int c1) =>
        {
            var (x, xOff, y, gy, gyOff, batch, channels, hw, mean, invstd, weight, wOff, training, gx, gWeight, gBias, reluFromInput, bias, bOff) = a;
            double n = (double)batch * hw;
            for (int c = c0; c < c1; c++)
            {
                T m = mean[c];
                var mask = new ReluMask<T>(y != null ? ReluMaskSource.Output : reluFromInput ? ReluMaskSource.Input : ReluMaskSource.None,
                    invstd[c] * (weight == null ? T.One : weight[wOff + c]), bias == null ? T.Zero : bias[bOff + c], m);
                double sumG = 0, sumGxc = 0;
                for (int b = 0; b < batch; b++)
                {
                    int off = (b * channels + c) * hw;
                    var (sg, sgx) = GradientSums<T>(gy.AsSpan(gyOff + off, hw), x.AsSpan(xOff + off, hw), y == null ? default : y.AsSpan(off, hw), mask, m);
                    sumG += sg;
                    sumGxc += sgx;
                }
                double istd = double.CreateTruncating(invstd[c]);
                if (gWeight != null) gWeight[c] = T.CreateTruncating(sumGxc * istd);
                if (gBias != null) gBias[c] = T.CreateTruncating(sumG);
                if (gx == null) continue;
                double k = istd * (weight == null ? 1.0 : double.CreateTruncating(weight[wOff + c]));
                // gx = k·g − k·a − k·slope·(x − mean): one fused multiply-add chain per element.
                T kT = T.CreateTruncating(k);
                T offset = T.CreateTruncating(training ? -k * sumG / n : 0);
                T slope = T.CreateTruncating(training ? -k * sumGxc * istd * istd / n : 0);
                for (int b = 0; b < batch; b++)
                {
                    int off = (b * channels + c) * hw;
                    InputGradient<T>(gy.AsSpan(gyOff + off, hw), x.AsSpan(xOff + off, hw), y == null ? default : y.AsSpan(off, hw), mask,
                        m, kT, offset, slope, gx.AsSpan(off, hw));
                }
            }
        });
    }

    private static double SumSquaredDeviation<T>(ReadOnlySpan<T> x, double mean) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double total = 0;
        T m = T.CreateTruncating(mean);
        var vm = Vector256.Create(m);
        for (int start = 0; start < x.Length; start += Block)
        {
            var part = x.Slice(start, Math.Min(Block, x.Length - start));
            int i = 0, w = Vector256<T>.Count;
            var acc = Vector256<T>.Zero;
            for (; i <= part.Length - w; i += w)
            {
                var d = Vector256.Create(part.Slice(i, w)) - vm;
                acc += d * d;
            }
            T tail = Vector256.Sum(acc);
            for (; i < part.Length; i++) { T d = part[i] - m; tail += d * d; }
            total += double.CreateTruncating(tail);
        }
        return total;
    }

    private static void ScaleShift<T>(ReadOnlySpan<T> x, T scale, T shift, bool relu, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector256<T>.Count;
        var vs = Vector256.Create(scale);
        var vt = Vector256.Create(shift);
        if (relu)
        {
            for (; i <= x.Length - w; i += w) Vector256.Max(Vector256.Create(x.Slice(i, w)) * vs + vt, Vector256<T>.Zero).CopyTo(y.Slice(i, w));
            for (; i < x.Length; i++) y[i] = T.Max(x[i] * scale + shift, T.Zero);
        }
        else
        {
            for (; i <= x.Length - w; i += w) (Vector256.Create(x.Slice(i, w)) * vs + vt).CopyTo(y.Slice(i, w));
            for (; i < x.Length; i++) y[i] = x[i] * scale + shift;
        }
    }

    /// <summary>Where the ReLU mask of BN+ReLU's backward comes from.</summary>
    private enum ReluMaskSource { None, Output, Input }

    /// <summary>The ReLU mask of one channel: y &gt; 0 read from y, or recomputed from x exactly as <see cref="ScaleShift{T}"/>
    /// computes y before its max with zero (scale = invstd·weight, shift = bias − mean·scale, both rounded to T).</summary>
    private readonly struct ReluMask<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly ReluMaskSource Source;
        public readonly T Scale, Shift;

        public ReluMask(ReluMaskSource source, T scale, T bias, T mean)
        {
            Source = source;
            Scale = scale;
            Shift = bias - mean * scale;
        }
    }

    // Σ g and Σ g·(x − mean), with g masked by the ReLU mask.
    private static (double SumG, double SumGxc) GradientSums<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReluMask<T> mask, T mean)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sumG = 0, sumGxc = 0;
        var vm = Vector256.Create(mean);
        var vs = Vector256.Create(mask.Scale);
        var vt = Vector256.Create(mask.Shift);
        bool fromOutput = mask.Source == ReluMaskSource.Output, fromInput = mask.Source == ReluMaskSource.Input;
        for (int start = 0; start < g.Length; start += Block)
        {
            int len = Math.Min(Block, g.Length - start), i = 0, w = Vector256<T>.Count;
            var pg = g.Slice(start, len);
            var px = x.Slice(start, len);
            var py = fromOutput ? y.Slice(start, len) : default;
            Vector256<T> ag = Vector256<T>.Zero, agx = Vector256<T>.Zero;
            for (; i <= len - w; i += w)
            {
                var vg = Vector256.Create(pg.Slice(i, w));
                var vx = Vector256.Create(px.Slice(i, w));
                if (fromOutput) vg &= Vector256.GreaterThan(Vector256.Create(py.Slice(i, w)), Vector256<T>.Zero);
                else if (fromInput) vg &= Vector256.GreaterThan(vx * vs + vt, Vector256<T>.Zero);
                ag += vg;
                agx += vg * (vx - vm);
            }
            T sg = Vector256.Sum(ag), sgx = Vector256.Sum(agx);
            for (; i < len; i++)
            {
                T gi = fromOutput && !(py[i] > T.Zero) || fromInput && !(px[i] * mask.Scale + mask.Shift > T.Zero) ? T.Zero : pg[i];
                sg += gi;
                sgx += gi * (px[i] - mean);
            }
            sumG += double.CreateTruncating(sg);
            sumGxc += double.CreateTruncating(sgx);
        }
        return (sumG, sumGxc);
    }

    // gx = k·g + offset + slope·(x − mean), with g masked by the ReLU mask.
    private static void InputGradient<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReluMask<T> mask, T mean, T k, T offset, T slope, Span<T> gx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector256<T>.Count;
        Vector256<T> vm = Vector256.Create(mean), vk = Vector256.Create(k), vo = Vector256.Create(offset), vs = Vector256.Create(slope);
        Vector256<T> vScale = Vector256.Create(mask.Scale), vShift = Vector256.Create(mask.Shift);
        bool fromOutput = mask.Source == ReluMaskSource.Output, fromInput = mask.Source == ReluMaskSource.Input;
        for (; i <= g.Length - w; i += w)
        {
            var vg = Vector256.Create(g.Slice(i, w));
            var vx = Vector256.Create(x.Slice(i, w));
            if (fromOutput) vg &= Vector256.GreaterThan(Vector256.Create(y.Slice(i, w)), Vector256<T>.Zero);
            else if (fromInput) vg &= Vector256.GreaterThan(vx * vScale + vShift, Vector256<T>.Zero);
            (vk * vg + vo + vs * (vx - vm)).CopyTo(gx.Slice(i, w));
        }
        for (; i < g.Length; i++)
        {
            T gi = fromOutput && !(y[i] > T.Zero) || fromInput && !(x[i] * mask.Scale + mask.Shift > T.Zero) ? T.Zero : g[i];
            gx[i] = k * gi + offset + slope * (x[i] - mean);
        }
    }

    // The inputs of each parallel loop, passed as state so that the loops allocate no closure.
    private readonly record struct StatisticsArgs<T>(T[] X, int XOff, int Batch, int Channels, int Hw, T[] Mean, T[] Variance);

    private readonly record struct TrainingForwardArgs<T>(T[] X, int XOff, T[] Y, int Batch, int Channels, int Hw, double Eps, T[] Mean, T[] Variance,
        T[] Invstd, T[]? Weight, int WOff, T[]? Bias, int BOff, bool Relu);

    private readonly record struct NormalizeArgs<T>(T[] X, int XOff, T[] Y, int Batch, int Channels, int Hw, T[] Mean, T[] Invstd,
        T[]? Weight, int WOff, T[]? Bias, int BOff, bool Relu);

    private readonly record struct BackwardArgs<T>(T[] X, int XOff, T[]? Y, T[] Gy, int GyOff, int Batch, int Channels, int Hw, T[] Mean, T[] Invstd,
        T[]? Weight, int WOff, bool Training, T[]? Gx, T[]? GWeight, T[]? GBias, bool ReluFromInput, T[]? Bias, int BOff);

    // A channel costs B·H·W reads per pass; below ~64K elements per thread the fork costs more than it saves (at 16K the
    // 6×8 and 12×16 layers of MTAN at 96×128 spent longer waiting for the second thread than computing: ASTMT_PAR_STATS).
    private static int MinChannels(int perChannel) => Math.Max(1, (1 << 16) / Math.Max(1, perChannel));
}
