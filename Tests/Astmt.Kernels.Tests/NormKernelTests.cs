using Astmt.Engine.Cuda;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>batchnorm.cu on the emulator against float64 loops (train and eval, with and without the fused ReLU).</summary>
[TestFixture, Category("Emulator")]
public class NormKernelTests
{
    private static readonly EmulatorSchedule[] Schedules = [EmulatorSchedule.Forward, EmulatorSchedule.Random];

    [Test]
    public void BatchNormTrainAndEvalForwardBackward([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(0, 1)] int relu, [Values(0, 1)] int training)
    {
        Emu.Use(schedule);
        var rng = new Random(50 + relu * 2 + training);
        int B = 3, C = 6, HW = 7 * 9, n = B * C * HW, N = B * HW;
        var x = Oracle.AsFloat(Oracle.Normal(rng, n, 2.0)).Select(v => v + 0.5).Select(v => (double)(float)v).ToArray();
        var gamma = Oracle.AsFloat(Oracle.Normal(rng, C)); var beta = Oracle.AsFloat(Oracle.Normal(rng, C));
        var dy = Oracle.AsFloat(Oracle.Normal(rng, n));
        var rm0 = Oracle.AsFloat(Oracle.Normal(rng, C)); var rv0 = Oracle.Uniform(rng, C, 0.5, 2);
        const float eps = 1e-5f, momentum = 0.1f;

        var mean = new double[C]; var variance = new double[C];
        for (int c = 0; c < C; c++)
        {
            double s = 0; for (int b = 0; b < B; b++) for (int i = 0; i < HW; i++) s += x[(b * C + c) * HW + i];
            mean[c] = s / N;
            double q = 0; for (int b = 0; b < B; b++) for (int i = 0; i < HW; i++) q += Math.Pow(x[(b * C + c) * HW + i] - mean[c], 2);
            variance[c] = q / N;
        }
        // Eval mode normalizes with the running statistics; train mode with the batch's.
        var useMean = training == 1 ? mean : rm0;
        var useVar = training == 1 ? variance : rv0;
        var invstd = useVar.Select(v => 1 / Math.Sqrt(v + eps)).ToArray();
        var y = new double[n]; var g = new double[n];
        for (int i = 0; i < n; i++)
        {
            int c = i / HW % C;
            double v = (x[i] - useMean[c]) * invstd[c] * gamma[c] + beta[c];
            y[i] = relu == 1 ? Math.Max(v, 0) : v;
            g[i] = relu == 1 && !(y[i] > 0) ? 0 : dy[i];
        }
        var sdy = new double[C]; var sdyx = new double[C];
        for (int i = 0; i < n; i++) { int c = i / HW % C; sdy[c] += g[i]; sdyx[c] += g[i] * (x[i] - useMean[c]) * invstd[c]; }
        var dx = new double[n];
        for (int i = 0; i < n; i++)
        {
            int c = i / HW % C;
            double xhat = (x[i] - useMean[c]) * invstd[c];
            dx[i] = training == 1 ? gamma[c] * invstd[c] * (g[i] - sdy[c] / N - xhat * sdyx[c] / N) : gamma[c] * invstd[c] * g[i];
        }
        var rm = rm0.Select((v, c) => 0.9 * v + 0.1 * mean[c]).ToArray();
        var rv = rv0.Select((v, c) => 0.9 * v + 0.1 * variance[c] * N / (N - 1)).ToArray();

        using var gx = Emu.Up(x); using var ggamma = Emu.Up(gamma); using var gbeta = Emu.Up(beta); using var gdy = Emu.Up(dy);
        using var gmean = Emu.Poisoned(C); using var gvar = Emu.Poisoned(C); using var ginv = Emu.Poisoned(C);
        using var grm = Emu.Up(rm0); using var grv = Emu.Up(rv0);
        Emu.Launch("bn_stats", C, 256, 0, gmean, gvar, gx, B, C, HW);
        Oracle.Close(mean, Emu.Down(gmean), 1e-5, 1e-4, "batch mean");
        Oracle.Close(variance, Emu.Down(gvar), 1e-5, 1e-4, "batch variance");
        Emu.LaunchElements("bn_update_running", C, grm, grv, gmean, gvar, C, momentum, (float)N / (N - 1));
        Oracle.Close(rm, Emu.Down(grm), 1e-5, 1e-4, "running mean");
        Oracle.Close(rv, Emu.Down(grv), 1e-5, 1e-4, "running var");
        using var gUseMean = training == 1 ? gmean : Emu.Up(rm0);
        using var gUseVar = training == 1 ? gvar : Emu.Up(rv0);
        Emu.LaunchElements("bn_invstd", C, ginv, gUseVar, eps, C);
        Oracle.Close(invstd, Emu.Down(ginv), 1e-5, 1e-4, "invstd");
        using var gy = Emu.Poisoned(n);
        Emu.LaunchElements("bn_forward", n, gy, gx, gUseMean, ginv, ggamma, gbeta, (long)n, C, HW, relu);
        Oracle.Close(y, Emu.Down(gy), 1e-5, 1e-4, "bn forward");
        using var gsdyx = Emu.Poisoned(C); using var gsdy = Emu.Poisoned(C); using var gdx = Emu.Poisoned(n);
        Emu.Launch("bn_bwd_reduce", C, 256, 0, gsdyx, gsdy, gdy, gx, relu == 1 ? gy : null, gUseMean, ginv, B, C, HW);
        Oracle.Close(sdyx, Emu.Down(gsdyx), 1e-4, 1e-4, "dgamma");
        Oracle.Close(sdy, Emu.Down(gsdy), 1e-4, 1e-4, "dbeta");
        Emu.LaunchElements("bn_bwd_dx", n, gdx, gdy, gx, relu == 1 ? gy : null, gUseMean, ginv, ggamma, gsdyx, gsdy, (long)n, C, HW, N, training);
        Oracle.Close(dx, Emu.Down(gdx), 1e-4, 1e-4, "bn dx");
    }

    [Test]
    public void FoldedBatchNormIsOneChannelAffine([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(51);
        int B = 2, C = 7, HW = 19, n = B * C * HW;
        var x = Oracle.AsFloat(Oracle.Normal(rng, n)); var mean = Oracle.AsFloat(Oracle.Normal(rng, C)); var variance = Oracle.Uniform(rng, C, 0.2, 3);
        var gamma = Oracle.AsFloat(Oracle.Normal(rng, C)); var beta = Oracle.AsFloat(Oracle.Normal(rng, C));
        const float eps = 1e-3f;
        var expected = new double[n];
        for (int i = 0; i < n; i++) { int c = i / HW % C; expected[i] = (x[i] - mean[c]) / Math.Sqrt(variance[c] + eps) * gamma[c] + beta[c]; }
        using var gx = Emu.Up(x); using var gm = Emu.Up(mean); using var gv = Emu.Up(variance); using var gg = Emu.Up(gamma); using var gb = Emu.Up(beta);
        using var scale = Emu.Poisoned(C); using var shift = Emu.Poisoned(C); using var gy = Emu.Poisoned(n);
        Emu.LaunchElements("bn_fold", C, scale, shift, gm, gv, null, gg, gb, C, eps);
        Emu.LaunchElements("channel_affine", n, gy, gx, scale, shift, (long)n, C, HW);
        Oracle.Close(expected, Emu.Down(gy), 1e-5, 1e-4, "folded batch norm");
    }
}
