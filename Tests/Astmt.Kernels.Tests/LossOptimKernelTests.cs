using Astmt.Engine.Cuda;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>loss.cu and optim.cu on the emulator against float64 loops written from PyTorch's definitions.</summary>
[TestFixture, Category("Emulator")]
public class LossOptimKernelTests
{
    private static readonly EmulatorSchedule[] Schedules = [EmulatorSchedule.Forward, EmulatorSchedule.Random];

    [Test]
    public void SoftmaxAndLogSoftmaxOverChannels([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(0, 1)] int logMode)
    {
        Emu.Use(schedule);
        var rng = new Random(80);
        int B = 3, C = 7, HW = 23, n = B * C * HW;
        var x = Oracle.AsFloat(Oracle.Normal(rng, n, 3)); var dy = Oracle.AsFloat(Oracle.Normal(rng, n));
        var y = new double[n];
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++)
            {
                double m = double.NegativeInfinity; for (int c = 0; c < C; c++) m = Math.Max(m, x[(b * C + c) * HW + i]);
                double s = 0; for (int c = 0; c < C; c++) s += Math.Exp(x[(b * C + c) * HW + i] - m);
                for (int c = 0; c < C; c++) { double v = x[(b * C + c) * HW + i] - m; y[(b * C + c) * HW + i] = logMode == 1 ? v - Math.Log(s) : Math.Exp(v) / s; }
            }
        using var gx = Emu.Up(x); using var gy = Emu.Poisoned(n);
        Emu.LaunchElements("softmax_axis_fwd", B * HW, gy, gx, B, C, HW, logMode);
        Oracle.Close(y, Emu.Down(gy), 1e-5, 1e-5, logMode == 1 ? "log_softmax" : "softmax");
        if (logMode == 0) return;
        var dx = new double[n];
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++)
            {
                double s = 0; for (int c = 0; c < C; c++) s += dy[(b * C + c) * HW + i];
                for (int c = 0; c < C; c++) { int o = (b * C + c) * HW + i; dx[o] = dy[o] - Math.Exp(y[o]) * s; }
            }
        using var gdy = Emu.Up(dy); using var gdx = Emu.Poisoned(n);
        Emu.LaunchElements("log_softmax_axis_bwd", B * HW, gdx, gdy, gy, B, C, HW);
        Oracle.Close(dx, Emu.Down(gdx), 1e-5, 1e-5, "log_softmax backward");
    }

    [Test]
    public void NllWithIgnoreIndexAndInvalidTargets([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(81);
        int B = 2, C = 5, HW = 301, ignore = 255;
        var logp = Oracle.AsFloat(Oracle.Normal(rng, B * C * HW));
        var target = new long[B * HW];
        for (int i = 0; i < target.Length; i++) target[i] = i % 11 == 0 ? ignore : rng.Next(C);
        target[7] = C + 3; // invalid: counted, not summed
        double sum = 0; int count = 0;
        var perElem = new double[B * HW];
        for (int i = 0; i < target.Length; i++)
        {
            long t = target[i];
            if (t == ignore || t >= C) continue;
            int b = i / HW, hw = i % HW;
            perElem[i] = -logp[(b * C + t) * HW + hw]; sum += perElem[i]; count++;
        }
        using var gl = Emu.Up(logp); using var gt = Emu.Up(target); using var acc = Emu.Zeros(3); using var gper = Emu.Poisoned(B * HW);
        Emu.LaunchElements("nll_fwd", B * HW, acc, gper, gl, gt, B, C, HW, ignore);
        Oracle.Close([sum, count, 1], Emu.Down(acc), 1e-3, 1e-5, "nll sum, count, invalid");
        Oracle.Close(perElem, Emu.Down(gper), 1e-6, 1e-6, "nll per element");
        // Mean reduction: d logp[target] = −1/count.
        var dlogp = new double[B * C * HW];
        for (int i = 0; i < target.Length; i++)
        {
            long t = target[i];
            if (t == ignore || t >= C) continue;
            dlogp[(i / HW * C + t) * HW + i % HW] = -1.0 / count;
        }
        using var gd = Emu.Zeros(dlogp.Length);
        Emu.LaunchElements("nll_bwd", B * HW, gd, null, gt, 1.0f / count, B, C, HW, ignore);
        Oracle.Close(dlogp, Emu.Down(gd), 1e-9, 1e-6, "nll backward");
    }

    [Test]
    public void BceWithLogitsWeighted([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(82);
        int n = 1237;
        var x = Oracle.AsFloat(Oracle.Normal(rng, n, 4)); var t = Oracle.Uniform(rng, n, 0, 1); var w = Oracle.Uniform(rng, n, 0.1, 3);
        var loss = new double[n]; var dx = new double[n];
        const float scale = 1f / 1237;
        for (int i = 0; i < n; i++)
        {
            loss[i] = w[i] * (Math.Max(x[i], 0) - x[i] * t[i] + Math.Log(1 + Math.Exp(-Math.Abs(x[i]))));
            dx[i] = w[i] * (1 / (1 + Math.Exp(-x[i])) - t[i]) * scale;
        }
        using var gx = Emu.Up(x); using var gt = Emu.Up(t); using var gw = Emu.Up(w); using var acc = Emu.Zeros(1); using var gl = Emu.Poisoned(n); using var gdx = Emu.Poisoned(n);
        Emu.LaunchElements("bce_logits_fwd", n, acc, gl, gx, gt, gw, (long)n);
        Emu.LaunchElements("bce_logits_bwd", n, gdx, null, gx, gt, gw, scale, (long)n);
        Oracle.Close(loss, Emu.Down(gl), 1e-6, 1e-5, "bce per element");
        Oracle.Close([loss.Sum()], Emu.Down(acc), 1e-3, 1e-5, "bce sum");
        Oracle.Close(dx, Emu.Down(gdx), 1e-8, 1e-5, "bce backward");
    }

    [Test]
    public void MaskedL1([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(1, 3)] int maskC)
    {
        Emu.Use(schedule);
        var rng = new Random(83 + maskC);
        int B = 2, C = 3, HW = 157, n = B * C * HW;
        var p = Oracle.AsFloat(Oracle.Normal(rng, n)); var t = Oracle.AsFloat(Oracle.Normal(rng, n));
        var m = Enumerable.Range(0, B * maskC * HW).Select(_ => rng.NextDouble() < 0.7 ? 1.0 : 0.0).ToArray();
        double sum = 0, msum = 0;
        var dp = new double[n];
        double Mask(int i) => maskC == C ? m[i] : m[i / (C * HW) * HW + i % HW];
        for (int i = 0; i < n; i++) { sum += Math.Abs(p[i] - t[i]) * Mask(i); msum += Mask(i); }
        for (int i = 0; i < n; i++) dp[i] = Math.Sign(p[i] - t[i]) * Mask(i) / msum;
        using var gp = Emu.Up(p); using var gt = Emu.Up(t); using var gm = Emu.Up(m); using var acc = Emu.Zeros(2); using var gdp = Emu.Poisoned(n);
        Emu.LaunchElements("masked_l1_fwd", n, acc, gp, gt, gm, B, C, HW, maskC);
        Oracle.Close([sum, msum], Emu.Down(acc), 1e-3, 1e-5, "masked L1 sums");
        Emu.LaunchElements("masked_l1_bwd", n, gdp, gp, gt, gm, (float)(1 / msum), B, C, HW, maskC);
        Oracle.Close(dp, Emu.Down(gdp), 1e-9, 1e-6, "masked L1 backward");
    }

    [Test]
    public void L2NormalizeOverChannels([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(85);
        int B = 2, C = 3, HW = 41, n = B * C * HW;
        const float eps = 1e-3f;
        var x = Oracle.AsFloat(Oracle.Normal(rng, n)); var dy = Oracle.AsFloat(Oracle.Normal(rng, n));
        for (int c = 0; c < C; c++) x[c * HW + 5] = 1e-5; // one position below eps
        var y = new double[n]; var dx = new double[n];
        for (int b = 0; b < B; b++)
            for (int i = 0; i < HW; i++)
            {
                double s = 0, dot = 0;
                for (int c = 0; c < C; c++) { int o = (b * C + c) * HW + i; s += x[o] * x[o]; dot += dy[o] * x[o]; }
                double nrm = Math.Sqrt(s);
                for (int c = 0; c < C; c++)
                {
                    int o = (b * C + c) * HW + i;
                    y[o] = x[o] / Math.Max(nrm, eps);
                    dx[o] = nrm > eps ? dy[o] / nrm - x[o] * dot / (nrm * nrm * nrm) : dy[o] / eps;
                }
            }
        using var gx = Emu.Up(x); using var gdy = Emu.Up(dy); using var gy = Emu.Poisoned(n); using var gn = Emu.Poisoned(B * HW); using var gdx = Emu.Poisoned(n);
        Emu.LaunchElements("l2norm_channels_fwd", B * HW, gy, gn, gx, B, C, HW, eps);
        Emu.LaunchElements("l2norm_channels_bwd", B * HW, gdx, gdy, gx, gn, B, C, HW, eps);
        Oracle.Close(y, Emu.Down(gy), 1e-6, 1e-5, "l2 normalize");
        Oracle.Close(dx, Emu.Down(gdx), 1e-5, 1e-4, "l2 normalize backward");
    }

    [Test]
    public void AdamAndAdamWSteps([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(0, 1)] int decoupled)
    {
        Emu.Use(schedule);
        var rng = new Random(86);
        int n = 777;
        var p = Oracle.AsFloat(Oracle.Normal(rng, n)); var g = Oracle.AsFloat(Oracle.Normal(rng, n));
        var m = Oracle.AsFloat(Oracle.Normal(rng, n, 0.1)); var v = Oracle.Uniform(rng, n, 0, 0.2);
        const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.05f;
        int step = 3;
        float bc1 = 1 - MathF.Pow(b1, step), bc2 = 1 - MathF.Pow(b2, step);
        var ep = new double[n]; var em = new double[n]; var ev = new double[n];
        for (int i = 0; i < n; i++)
        {
            double pv = p[i], gv = g[i];
            if (decoupled == 1) pv *= 1 - (double)lr * wd; else gv += (double)wd * pv;
            em[i] = b1 * m[i] + (1 - (double)b1) * gv;
            ev[i] = b2 * v[i] + (1 - (double)b2) * gv * gv;
            ep[i] = pv - lr * (em[i] / bc1) / (Math.Sqrt(ev[i] / bc2) + eps);
        }
        using var gp = Emu.Up(p); using var gm = Emu.Up(m); using var gv2 = Emu.Up(v); using var gg = Emu.Up(g);
        Emu.LaunchElements("adam_step", n, gp, gm, gv2, gg, (long)n, lr, b1, b2, eps, wd, bc1, bc2, decoupled);
        Oracle.Close(em, Emu.Down(gm), 1e-6, 1e-5, "adam m");
        Oracle.Close(ev, Emu.Down(gv2), 1e-7, 1e-5, "adam v");
        Oracle.Close(ep, Emu.Down(gp), 1e-6, 1e-5, "adam p");
    }

    [Test]
    public void SgdWithMomentumAndNesterov([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(0, 1)] int nesterov, [Values(0, 1)] int first)
    {
        Emu.Use(schedule);
        var rng = new Random(87);
        int n = 555;
        var p = Oracle.AsFloat(Oracle.Normal(rng, n)); var g = Oracle.AsFloat(Oracle.Normal(rng, n)); var buf = Oracle.AsFloat(Oracle.Normal(rng, n));
        const float lr = 0.1f, mu = 0.9f, damp = 0.1f, wd = 1e-3f;
        var ep = new double[n]; var eb = new double[n];
        for (int i = 0; i < n; i++)
        {
            double d = g[i] + (double)wd * p[i];
            eb[i] = first == 1 ? d : mu * buf[i] + (1 - (double)damp) * d;
            d = nesterov == 1 ? d + mu * eb[i] : eb[i];
            ep[i] = p[i] - lr * d;
        }
        using var gp = Emu.Up(p); using var gb = Emu.Up(buf); using var gg = Emu.Up(g);
        Emu.LaunchElements("sgd_step", n, gp, gb, gg, (long)n, lr, mu, damp, wd, nesterov, first);
        Oracle.Close(eb, Emu.Down(gb), 1e-6, 1e-5, "sgd momentum buffer");
        Oracle.Close(ep, Emu.Down(gp), 1e-6, 1e-5, "sgd parameter");
    }
}
