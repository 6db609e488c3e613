using Astmt.Engine.Cuda;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>pool.cu and resize.cu on the emulator against float64 loops written from PyTorch's definitions.</summary>
[TestFixture, Category("Emulator")]
public class PoolResizeKernelTests
{
    private static readonly EmulatorSchedule[] Schedules = [EmulatorSchedule.Forward, EmulatorSchedule.Random];

    [Test]
    public void MaxPoolWithIndicesBackwardAndUnpool([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(2, 3)] int kernel)
    {
        Emu.Use(schedule);
        var rng = new Random(70 + kernel);
        int BC = 2 * 3, H = 9, W = 11, stride = 2, pad = kernel == 3 ? 1 : 0;
        int P = (H + 2 * pad - kernel) / stride + 1, Q = (W + 2 * pad - kernel) / stride + 1;
        var x = Oracle.AsFloat(Oracle.Normal(rng, BC * H * W));
        var dy = Oracle.AsFloat(Oracle.Normal(rng, BC * P * Q));
        var y = new double[BC * P * Q]; var idx = new long[BC * P * Q]; var dx = new double[BC * H * W];
        for (int pl = 0; pl < BC; pl++)
            for (int p = 0; p < P; p++)
                for (int q = 0; q < Q; q++)
                {
                    double best = double.NegativeInfinity; long bi = -1;
                    for (int r = 0; r < kernel; r++) for (int s = 0; s < kernel; s++)
                    {
                        int h = p * stride - pad + r, w = q * stride - pad + s;
                        if (h < 0 || h >= H || w < 0 || w >= W) continue;
                        double v = x[(pl * H + h) * W + w];
                        if (bi < 0 || v > best) { best = v; bi = h * W + w; }
                    }
                    int o = (pl * P + p) * Q + q;
                    y[o] = best; idx[o] = bi;
                    dx[pl * H * W + bi] += dy[o];
                }
        using var gx = Emu.Up(x); using var gy = Emu.Poisoned(y.Length); using var gi = new CudaDeviceVariable<long>(Emu.Context, idx.Length);
        Emu.LaunchElements("maxpool2d_fwd", y.Length, gy, gi, gx, BC, H, W, P, Q, kernel, stride, pad);
        Oracle.Close(y, Emu.Down(gy), 0, 0, "max pool values");
        Assert.That(gi.ToArray(), Is.EqualTo(idx), "max pool indices");
        using var gdy = Emu.Up(dy); using var gdx = Emu.Zeros(dx.Length);
        Emu.LaunchElements("maxpool2d_bwd", dy.Length, gdx, gdy, gi, BC, H * W, P * Q);
        Oracle.Close(dx, Emu.Down(gdx), 1e-6, 1e-6, "max pool backward");

        // Unpool y back to H×W: every winner returns to its place, zeros elsewhere; its backward gathers.
        var unpooled = new double[BC * H * W];
        for (int pl = 0; pl < BC; pl++) for (int j = 0; j < P * Q; j++) unpooled[pl * H * W + idx[pl * P * Q + j]] = y[pl * P * Q + j];
        using var gu = Emu.Zeros(unpooled.Length);
        Emu.LaunchElements("maxunpool2d_fwd", y.Length, gu, gy, gi, BC, P * Q, H * W);
        Oracle.Close(unpooled, Emu.Down(gu), 0, 0, "max unpool");
        var du = Oracle.AsFloat(Oracle.Normal(rng, unpooled.Length));
        var gathered = new double[y.Length];
        for (int pl = 0; pl < BC; pl++) for (int j = 0; j < P * Q; j++) gathered[pl * P * Q + j] = du[pl * H * W + idx[pl * P * Q + j]];
        using var gdu = Emu.Up(du); using var gg = Emu.Poisoned(y.Length);
        Emu.LaunchElements("maxunpool2d_bwd", y.Length, gg, gdu, gi, BC, P * Q, H * W);
        Oracle.Close(gathered, Emu.Down(gg), 0, 0, "max unpool backward");
    }

    private static (int I0, int I1, double L1) Taps(int dst, int input, double step, bool align)
    {
        double src = align ? step * dst : Math.Max(step * (dst + 0.5) - 0.5, 0);
        int i0 = Math.Min((int)src, input - 1);
        int i1 = Math.Min(i0 + 1, input - 1);
        return (i0, i1, src - i0);
    }

    [Test]
    public void BilinearResizeForwardBackward([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(false, true)] bool align,
        [Values(new[] { 5, 7, 11, 17 }, new[] { 9, 13, 4, 6 })] int[] sizes)
    {
        Emu.Use(schedule);
        var rng = new Random(72);
        int BC = 3, H = sizes[0], W = sizes[1], OH = sizes[2], OW = sizes[3];
        double stepH = align ? (OH > 1 ? (H - 1) / (double)(OH - 1) : 0) : H / (double)OH;
        double stepW = align ? (OW > 1 ? (W - 1) / (double)(OW - 1) : 0) : W / (double)OW;
        var x = Oracle.AsFloat(Oracle.Normal(rng, BC * H * W)); var dy = Oracle.AsFloat(Oracle.Normal(rng, BC * OH * OW));
        var y = new double[BC * OH * OW]; var dx = new double[BC * H * W];
        for (int pl = 0; pl < BC; pl++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                {
                    var (h0, h1, lh) = Taps(oh, H, (float)stepH, align);
                    var (w0, w1, lw) = Taps(ow, W, (float)stepW, align);
                    double[] wts = [(1 - lh) * (1 - lw), (1 - lh) * lw, lh * (1 - lw), lh * lw];
                    int[] at = [h0 * W + w0, h0 * W + w1, h1 * W + w0, h1 * W + w1];
                    int o = (pl * OH + oh) * OW + ow;
                    for (int t = 0; t < 4; t++) { y[o] += wts[t] * x[pl * H * W + at[t]]; dx[pl * H * W + at[t]] += wts[t] * dy[o]; }
                }
        using var gx = Emu.Up(x); using var gy = Emu.Poisoned(y.Length); using var gdy = Emu.Up(dy); using var gdx = Emu.Zeros(dx.Length);
        Emu.LaunchElements("resize_bilinear_fwd", y.Length, gy, gx, BC, H, W, OH, OW, align ? 1 : 0, (float)stepH, (float)stepW);
        Emu.LaunchElements("resize_bilinear_bwd", y.Length, gdx, gdy, BC, H, W, OH, OW, align ? 1 : 0, (float)stepH, (float)stepW);
        Oracle.Close(y, Emu.Down(gy), 1e-5, 1e-5, "bilinear forward");
        Oracle.Close(dx, Emu.Down(gdx), 1e-5, 1e-5, "bilinear backward");
    }

    [Test]
    public void NearestResizeForwardBackward([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(new[] { 5, 7, 10, 14 }, new[] { 9, 13, 4, 5 })] int[] sizes)
    {
        Emu.Use(schedule);
        var rng = new Random(73);
        int BC = 2, H = sizes[0], W = sizes[1], OH = sizes[2], OW = sizes[3];
        float stepH = H / (float)OH, stepW = W / (float)OW;
        var x = Oracle.AsFloat(Oracle.Normal(rng, BC * H * W)); var dy = Oracle.AsFloat(Oracle.Normal(rng, BC * OH * OW));
        var y = new double[BC * OH * OW]; var dx = new double[BC * H * W];
        for (int pl = 0; pl < BC; pl++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++)
                {
                    int h = Math.Min((int)MathF.Floor(oh * stepH), H - 1), w = Math.Min((int)MathF.Floor(ow * stepW), W - 1);
                    int o = (pl * OH + oh) * OW + ow;
                    y[o] = x[(pl * H + h) * W + w];
                    dx[(pl * H + h) * W + w] += dy[o];
                }
        using var gx = Emu.Up(x); using var gy = Emu.Poisoned(y.Length); using var gdy = Emu.Up(dy); using var gdx = Emu.Zeros(dx.Length);
        Emu.LaunchElements("resize_nearest_fwd", y.Length, gy, gx, BC, H, W, OH, OW, stepH, stepW);
        Emu.LaunchElements("resize_nearest_bwd", y.Length, gdx, gdy, BC, H, W, OH, OW, stepH, stepW);
        Oracle.Close(y, Emu.Down(gy), 0, 0, "nearest forward");
        Oracle.Close(dx, Emu.Down(gdx), 1e-6, 1e-6, "nearest backward");
    }

    [Test]
    public void CopyBlocksConcatenatesChannels([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(74);
        // cat([a [2,3,5], b [2,4,5]], dim 1) as two block copies.
        int B = 2, Ca = 3, Cb = 4, HW = 5;
        var a = Oracle.AsFloat(Oracle.Normal(rng, B * Ca * HW)); var b = Oracle.AsFloat(Oracle.Normal(rng, B * Cb * HW));
        var expected = new double[B * (Ca + Cb) * HW];
        for (int i = 0; i < B; i++)
        {
            Array.Copy(a, i * Ca * HW, expected, i * (Ca + Cb) * HW, Ca * HW);
            Array.Copy(b, i * Cb * HW, expected, i * (Ca + Cb) * HW + Ca * HW, Cb * HW);
        }
        using var ga = Emu.Up(a); using var gb = Emu.Up(b); using var gy = Emu.Poisoned(expected.Length);
        long outStride = (Ca + Cb) * HW;
        Emu.LaunchElements("copy_blocks", B * Ca * HW, gy, ga, 0L, (long)(Ca * HW), 0L, outStride, (long)(Ca * HW), (long)B);
        Emu.LaunchElements("copy_blocks", B * Cb * HW, gy, gb, 0L, (long)(Cb * HW), (long)(Ca * HW), outStride, (long)(Cb * HW), (long)B);
        Oracle.Close(expected, Emu.Down(gy), 0, 0, "concat");
    }
}
