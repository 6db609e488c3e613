using System.Numerics;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

/// <summary>
/// CPU batch norm over x [B,C,H·W], one channel per work item: statistics, normalisation (optionally fused with ReLU) and the
/// fused backward. Each channel is reduced by one thread in a fixed order with float64 accumulators, so results do not depend on
/// the thread count.
/// </summary>
internal static class BatchNormKernels
{
    /// <summary>mean [C] and biased variance [C] of x [B,C,HW] over B and HW (two passes, float64 sums).</summary>
    public static void Statistics<T>(T[] x, int xOff, int batch, int channels, int hw, T[] mean, T[] variance) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double n = (double)batch * hw;
        Parallelism.For(0, channels, MinChannels(batch * hw), (c0, c1) =>
        {
            for (int c = c0; c < c1; c++)
            {
                double s = 0;
                for (int b = 0; b < batch; b++) s += VectorMath.Sum<T>(x.AsSpan(xOff + (b * channels + c) * hw, hw));
                double m = s / n, ss = 0;
                for (int b = 0; b < batch; b++)
                {
                    var plane = x.AsSpan(xOff + (b * channels + c) * hw, hw);
                    for (int i = 0; i < plane.Length; i++) { double d = double.CreateTruncating(plane[i]) - m; ss += d * d; }
                }
                mean[c] = T.CreateTruncating(m);
                variance[c] = T.CreateTruncating(ss / n);
            }
        });
    }

    /// <summary>y = (x − mean)·invstd·weight + bias per channel, then max(·, 0) when <paramref name="relu"/>.</summary>
    public static void Normalize<T>(T[] x, int xOff, T[] y, int batch, int channels, int hw, T[] mean, T[] invstd,
        T[]? weight, int wOff, T[]? bias, int bOff, bool relu) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Parallelism.For(0, channels, MinChannels(batch * hw), (c0, c1) =>
        {
            for (int c = c0; c < c1; c++)
            {
                T scale = invstd[c] * (weight == null ? T.One : weight[wOff + c]);
                T shift = (bias == null ? T.Zero : bias[bOff + c]) - mean[c] * scale;
                for (int b = 0; b < batch; b++)
                {
                    var src = x.AsSpan(xOff + (b * channels + c) * hw, hw);
                    var dst = y.AsSpan((b * channels + c) * hw, hw);
                    if (relu) for (int i = 0; i < src.Length; i++) dst[i] = T.Max(src[i] * scale + shift, T.Zero);
                    else for (int i = 0; i < src.Length; i++) dst[i] = src[i] * scale + shift;
                }
            }
        });
    }

    /// <summary>
    /// The fused backward. With <paramref name="y"/> given (BN+ReLU), the incoming gradient is first masked by y &gt; 0. Then
    /// gweight = Σ g·x̂, gbias = Σ g, and gx = weight·invstd·(g − mean(g) − x̂·mean(g·x̂)) in training or weight·invstd·g in
    /// evaluation. Any of gx, gweight, gbias may be null when not needed.
    /// </summary>
    public static void Backward<T>(T[] x, int xOff, T[]? y, T[] gy, int gyOff, int batch, int channels, int hw, T[] mean, T[] invstd,
        T[]? weight, int wOff, bool training, T[]? gx, T[]? gWeight, T[]? gBias) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double n = (double)batch * hw;
        Parallelism.For(0, channels, MinChannels(batch * hw), (c0, c1) =>
        {
            for (int c = c0; c < c1; c++)
            {
                double m = double.CreateTruncating(mean[c]), sumG = 0, sumGxc = 0;
                for (int b = 0; b < batch; b++)
                {
                    int off = (b * channels + c) * hw;
                    for (int i = 0; i < hw; i++)
                    {
                        double g = double.CreateTruncating(gy[gyOff + off + i]);
                        if (y != null && !(y[off + i] > T.Zero)) g = 0;
                        sumG += g;
                        sumGxc += g * (double.CreateTruncating(x[xOff + off + i]) - m);
                    }
                }
                double istd = double.CreateTruncating(invstd[c]);
                if (gWeight != null) gWeight[c] = T.CreateTruncating(sumGxc * istd);
                if (gBias != null) gBias[c] = T.CreateTruncating(sumG);
                if (gx == null) continue;
                double k = istd * (weight == null ? 1.0 : double.CreateTruncating(weight[wOff + c]));
                double a = training ? sumG / n : 0, slope = training ? sumGxc * istd * istd / n : 0;
                for (int b = 0; b < batch; b++)
                {
                    int off = (b * channels + c) * hw;
                    for (int i = 0; i < hw; i++)
                    {
                        double g = double.CreateTruncating(gy[gyOff + off + i]);
                        if (y != null && !(y[off + i] > T.Zero)) g = 0;
                        double xc = double.CreateTruncating(x[xOff + off + i]) - m;
                        gx[off + i] = T.CreateTruncating(k * (g - a - xc * slope));
                    }
                }
            }
        });
    }

    // A channel costs B·H·W reads per pass; below ~16K elements per thread the fork costs more than it saves.
    private static int MinChannels(int perChannel) => Math.Max(1, (1 << 14) / Math.Max(1, perChannel));
}
