using Astmt.Engine.Cuda;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>The fused kernels — squeeze-and-excitation, MTAN's gate, gradient reversal — against float64 oracles written from
/// the unfused definitions, under two thread schedules.</summary>
[TestFixture, Category("Emulator")]
public class FusedKernelTests
{
    private static readonly EmulatorSchedule[] Schedules = [EmulatorSchedule.Forward, EmulatorSchedule.Random];

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    [Test]
    public void SqueezeExcitationForwardAndBackward([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(41);
        int B = 3, C = 40, Cr = 7, H = 5, W = 7, HW = H * W;
        var x = Oracle.AsFloat(Oracle.Normal(rng, B * C * HW));
        var w1 = Oracle.AsFloat(Oracle.Normal(rng, Cr * C, 0.3));
        var b1 = Oracle.AsFloat(Oracle.Normal(rng, Cr, 0.3));
        var w2 = Oracle.AsFloat(Oracle.Normal(rng, C * Cr, 0.3));
        var b2 = Oracle.AsFloat(Oracle.Normal(rng, C, 0.3));
        var dy = Oracle.AsFloat(Oracle.Normal(rng, B * C * HW));

        // Oracle: the unfused chain pool → FC → ReLU → FC → sigmoid → scale and its backward, in float64.
        var pooled = new double[B * C]; var z1 = new double[B * Cr]; var h = new double[B * Cr]; var s = new double[B * C];
        var y = new double[B * C * HW]; var dx = new double[B * C * HW];
        var dw1 = new double[Cr * C]; var db1 = new double[Cr]; var dw2 = new double[C * Cr]; var db2 = new double[C];
        for (int b = 0; b < B; b++)
        {
            for (int c = 0; c < C; c++) { double acc = 0; for (int i = 0; i < HW; i++) acc += x[(b * C + c) * HW + i]; pooled[b * C + c] = acc / HW; }
            for (int j = 0; j < Cr; j++) { double acc = b1[j]; for (int c = 0; c < C; c++) acc += w1[j * C + c] * pooled[b * C + c]; z1[b * Cr + j] = acc; h[b * Cr + j] = Math.Max(acc, 0); }
            for (int c = 0; c < C; c++) { double acc = b2[c]; for (int j = 0; j < Cr; j++) acc += w2[c * Cr + j] * h[b * Cr + j]; s[b * C + c] = Sigmoid(acc); }
            for (int c = 0; c < C; c++) for (int i = 0; i < HW; i++) y[(b * C + c) * HW + i] = x[(b * C + c) * HW + i] * s[b * C + c];
            var dz2 = new double[C]; var dh = new double[Cr]; var dp = new double[C];
            for (int c = 0; c < C; c++)
            {
                double ds = 0; for (int i = 0; i < HW; i++) ds += dy[(b * C + c) * HW + i] * x[(b * C + c) * HW + i];
                dz2[c] = ds * s[b * C + c] * (1 - s[b * C + c]);
                db2[c] += dz2[c];
                for (int j = 0; j < Cr; j++) { dw2[c * Cr + j] += dz2[c] * h[b * Cr + j]; dh[j] += w2[c * Cr + j] * dz2[c]; }
            }
            for (int j = 0; j < Cr; j++)
            {
                if (z1[b * Cr + j] <= 0) dh[j] = 0;
                db1[j] += dh[j];
                for (int c = 0; c < C; c++) { dw1[j * C + c] += dh[j] * pooled[b * C + c]; dp[c] += w1[j * C + c] * dh[j]; }
            }
            for (int c = 0; c < C; c++) for (int i = 0; i < HW; i++) dx[(b * C + c) * HW + i] = dy[(b * C + c) * HW + i] * s[b * C + c] + dp[c] / HW;
        }

        using var gx = Emu.Up(x); using var gw1 = Emu.Up(w1); using var gb1 = Emu.Up(b1); using var gw2 = Emu.Up(w2); using var gb2 = Emu.Up(b2);
        using var gs = Emu.Poisoned(B * C); using var gpooled = Emu.Poisoned(B * C); using var gh = Emu.Poisoned(B * Cr); using var gy = Emu.Poisoned(B * C * HW);
        uint shared = (uint)((C + Cr) * sizeof(float));
        Emu.Launch("se_fwd_excite", B, 256, shared, gs, gpooled, gh, gx, gw1, gb1, gw2, gb2, C, Cr, HW);
        Emu.LaunchElements("se_scale", B * C * HW, gy, gx, gs, (long)(B * C * HW), HW);
        Oracle.Close(pooled, Emu.Down(gpooled), 1e-5, 1e-4, "SE pooled");
        Oracle.Close(h, Emu.Down(gh), 1e-5, 1e-4, "SE hidden");
        Oracle.Close(s, Emu.Down(gs), 1e-5, 1e-4, "SE scale");
        Oracle.Close(y, Emu.Down(gy), 1e-5, 1e-4, "SE output");

        using var gdy = Emu.Up(dy); using var gds = Emu.Poisoned(B * C); using var gdp = Emu.Poisoned(B * C); using var gdx = Emu.Poisoned(B * C * HW);
        using var gdw1 = Emu.Zeros(Cr * C); using var gdb1 = Emu.Zeros(Cr); using var gdw2 = Emu.Zeros(C * Cr); using var gdb2 = Emu.Zeros(C);
        Emu.Launch("se_bwd_reduce", 3, 256, 0, gds, gdy, gx, B * C, HW);
        Emu.Launch("se_bwd_excite", B, 256, shared, gdp, gdw1, gdb1, gdw2, gdb2, gds, gs, gpooled, gh, gw1, gw2, C, Cr);
        Emu.LaunchElements("se_bwd_dx", B * C * HW, gdx, gdy, gs, gdp, (long)(B * C * HW), HW);
        Oracle.Close(dx, Emu.Down(gdx), 1e-5, 1e-4, "SE dx");
        Oracle.Close(dw1, Emu.Down(gdw1), 1e-5, 1e-4, "SE dW1");
        Oracle.Close(db1, Emu.Down(gdb1), 1e-5, 1e-4, "SE db1");
        Oracle.Close(dw2, Emu.Down(gdw2), 1e-5, 1e-4, "SE dW2");
        Oracle.Close(db2, Emu.Down(gdb2), 1e-5, 1e-4, "SE db2");
    }

    [Test]
    public void MtanGateForwardAndBackward([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(42);
        int B = 2, C = 5, HW = 13 * 11, n = B * C * HW;
        var z = Oracle.AsFloat(Oracle.Normal(rng, n)); var f = Oracle.AsFloat(Oracle.Normal(rng, n)); var dy = Oracle.AsFloat(Oracle.Normal(rng, n));
        var scale = Oracle.AsFloat(Oracle.Normal(rng, C)); var shift = Oracle.AsFloat(Oracle.Normal(rng, C));
        var a = new double[n]; var y = new double[n]; var df = new double[n]; var dbn = new double[n];
        for (int i = 0; i < n; i++)
        {
            int c = i / HW % C;
            a[i] = Sigmoid(z[i] * scale[c] + shift[c]);
            y[i] = a[i] * f[i];
            df[i] = dy[i] * a[i];
            dbn[i] = dy[i] * f[i] * a[i] * (1 - a[i]);
        }
        using var gz = Emu.Up(z); using var gf = Emu.Up(f); using var gsc = Emu.Up(scale); using var gsh = Emu.Up(shift); using var gdy = Emu.Up(dy);
        using var ga = Emu.Poisoned(n); using var gy = Emu.Poisoned(n); using var gdf = Emu.Poisoned(n); using var gdbn = Emu.Poisoned(n);
        Emu.LaunchElements("mtan_gate_fwd", n, gy, ga, gz, gf, gsc, gsh, (long)n, C, HW);
        Emu.LaunchElements("mtan_gate_bwd", n, gdf, gdbn, gdy, ga, gf, (long)n);
        Oracle.Close(a, Emu.Down(ga), 1e-6, 1e-5, "gate attention");
        Oracle.Close(y, Emu.Down(gy), 1e-6, 1e-5, "gate output");
        Oracle.Close(df, Emu.Down(gdf), 1e-6, 1e-5, "gate d(feature)");
        Oracle.Close(dbn, Emu.Down(gdbn), 1e-6, 1e-5, "gate d(bn output)");
    }

    [Test]
    public void GradientReversalAccumulatesTheNegatedScaledGradient([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(0, 1)] int accumulate)
    {
        Emu.Use(schedule);
        var rng = new Random(43);
        int n = 1031;
        var acc = Oracle.AsFloat(Oracle.Normal(rng, n)); var g = Oracle.AsFloat(Oracle.Normal(rng, n));
        const float lambda = 0.37f;
        var expected = new double[n];
        for (int i = 0; i < n; i++) expected[i] = (accumulate == 1 ? acc[i] : 0) - (double)lambda * g[i];
        using var gacc = Emu.Up(acc); using var gg = Emu.Up(g);
        Emu.LaunchElements("grad_reverse_accumulate", n, gacc, gg, lambda, (long)n, accumulate);
        Oracle.Close(expected, Emu.Down(gacc), 1e-6, 1e-6, "gradient reversal");
    }
}
