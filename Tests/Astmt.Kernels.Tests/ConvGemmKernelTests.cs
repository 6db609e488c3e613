using Astmt.Engine.Cuda;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>gemm.cu and conv.cu on the emulator against naive float64 loops, on odd shapes, under two thread schedules.</summary>
[TestFixture, Category("Emulator")]
public class ConvGemmKernelTests
{
    private static readonly EmulatorSchedule[] Schedules = [EmulatorSchedule.Forward, EmulatorSchedule.Random];

    [Test]
    public void TiledGemm([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(0, 1)] int transA, [Values(0, 1)] int transB)
    {
        Emu.Use(schedule);
        var rng = new Random(10 + transA * 2 + transB);
        int M = 37, N = 29, K = 45;
        var a = Oracle.AsFloat(Oracle.Normal(rng, M * K));
        var b = Oracle.AsFloat(Oracle.Normal(rng, K * N));
        var c0 = Oracle.AsFloat(Oracle.Normal(rng, M * N));
        const float alpha = 1.5f, beta = 0.5f;
        var expected = new double[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double acc = 0;
                for (int k = 0; k < K; k++)
                    acc += (transA == 1 ? a[k * M + i] : a[i * K + k]) * (transB == 1 ? b[j * K + k] : b[k * N + j]);
                expected[i * N + j] = alpha * acc + beta * c0[i * N + j];
            }
        using var da = Emu.Up(a);
        using var db = Emu.Up(b);
        using var dc = Emu.Up(c0);
        Emu.Launch("gemm_tiled", new Dim3((uint)((N + 15) / 16), (uint)((M + 15) / 16)), new Dim3(16, 16), 0, dc, da, db, M, N, K, transA == 1 ? M : K, transB == 1 ? K : N, transA, transB, alpha, beta);
        Oracle.Close(expected, Emu.Down(dc), 1e-4, 1e-4, "gemm");
    }

    public readonly record struct ConvCase(int B, int C, int H, int W, int K, int R, int S, int Stride, int Pad, int Dil)
    {
        public int P => (H + 2 * Pad - Dil * (R - 1) - 1) / Stride + 1;
        public int Q => (W + 2 * Pad - Dil * (S - 1) - 1) / Stride + 1;
        public override string ToString() => $"x{B}x{C}x{H}x{W} w{K}x{C}x{R}x{S} s{Stride} p{Pad} d{Dil}";
    }

    private static readonly ConvCase[] Cases =
    [
        new(2, 3, 11, 9, 5, 3, 3, 2, 1, 2),
        new(1, 17, 7, 6, 19, 3, 3, 1, 1, 1),
        new(3, 5, 5, 8, 4, 1, 1, 1, 0, 1),
        new(2, 4, 9, 7, 3, 3, 2, 3, 2, 1),
    ];

    private static double[] ConvForward(ConvCase g, double[] x, double[] w, double[]? bias)
    {
        var y = new double[g.B * g.K * g.P * g.Q];
        if (bias != null)
            for (int i = 0; i < y.Length; i++) y[i] = bias[i / (g.P * g.Q) % g.K];
        ForEachTap(g, (yi, xi, wi) => y[yi] += x[xi] * w[wi]);
        return y;
    }

    /// <summary>Visits every in-bounds tap of the direct convolution loop (b, k, p, q outer; c, r, s inner) with the flat
    /// indices of its output, input and weight elements; the oracles of all three kernels are this loop.</summary>
    private static void ForEachTap(ConvCase g, Action<int, int, int> visit)
    {
        for (int b = 0; b < g.B; b++)
            for (int k = 0; k < g.K; k++)
                for (int p = 0; p < g.P; p++)
                    for (int q = 0; q < g.Q; q++)
                        for (int c = 0; c < g.C; c++)
                            for (int r = 0; r < g.R; r++)
                                for (int s = 0; s < g.S; s++)
                                {
                                    int h = p * g.Stride - g.Pad + r * g.Dil, ww = q * g.Stride - g.Pad + s * g.Dil;
                                    if (h < 0 || h >= g.H || ww < 0 || ww >= g.W) continue;
                                    visit(((b * g.K + k) * g.P + p) * g.Q + q, ((b * g.C + c) * g.H + h) * g.W + ww, ((k * g.C + c) * g.R + r) * g.S + s);
                                }
    }

    private static object[] GeometryArgs(ConvCase g) => [g.B, g.C, g.H, g.W, g.K, g.R, g.S, g.P, g.Q, g.Stride, g.Pad, g.Dil];

    [Test]
    public void ConvForward([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [ValueSource(nameof(Cases))] ConvCase g)
    {
        Emu.Use(schedule);
        var rng = new Random(g.GetHashCode());
        var x = Oracle.AsFloat(Oracle.Normal(rng, g.B * g.C * g.H * g.W));
        var w = Oracle.AsFloat(Oracle.Normal(rng, g.K * g.C * g.R * g.S));
        var bias = Oracle.AsFloat(Oracle.Normal(rng, g.K));
        using var dx = Emu.Up(x);
        using var dw = Emu.Up(w);
        using var db = Emu.Up(bias);
        using var dy = Emu.Poisoned(g.B * g.K * g.P * g.Q);
        var grid = new Dim3((uint)((g.B * g.P * g.Q + 15) / 16), (uint)((g.K + 15) / 16));
        Emu.Launch("conv2d_fwd", grid, new Dim3(16, 16), 0, [dy, dx, dw, db, .. GeometryArgs(g)]);
        Oracle.Close(ConvForward(g, x, w, bias), Emu.Down(dy), 1e-4, 1e-4, $"conv forward {g}");
    }

    [Test]
    public void ConvBackwardData([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [ValueSource(nameof(Cases))] ConvCase g)
    {
        Emu.Use(schedule);
        var rng = new Random(g.GetHashCode() + 1);
        var gy = Oracle.AsFloat(Oracle.Normal(rng, g.B * g.K * g.P * g.Q));
        var w = Oracle.AsFloat(Oracle.Normal(rng, g.K * g.C * g.R * g.S));
        // The oracle is the adjoint of the forward loop: scatter each output gradient to the input taps it read.
        var expected = new double[g.B * g.C * g.H * g.W];
        ForEachTap(g, (yi, xi, wi) => expected[xi] += gy[yi] * w[wi]);
        using var dgy = Emu.Up(gy);
        using var dw = Emu.Up(w);
        using var dgx = Emu.Poisoned(expected.Length);
        var grid = new Dim3((uint)((g.B * g.H * g.W + 15) / 16), (uint)((g.C + 15) / 16));
        Emu.Launch("conv2d_bwd_data", grid, new Dim3(16, 16), 0, [dgx, dgy, dw, .. GeometryArgs(g)]);
        Oracle.Close(expected, Emu.Down(dgx), 1e-4, 1e-4, $"conv backward-data {g}");
    }

    [Test]
    public void ConvBackwardWeight([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [ValueSource(nameof(Cases))] ConvCase g, [Values(1u, 3u)] uint splits)
    {
        Emu.Use(schedule);
        var rng = new Random(g.GetHashCode() + 2);
        var x = Oracle.AsFloat(Oracle.Normal(rng, g.B * g.C * g.H * g.W));
        var gy = Oracle.AsFloat(Oracle.Normal(rng, g.B * g.K * g.P * g.Q));
        var expected = new double[g.K * g.C * g.R * g.S];
        ForEachTap(g, (yi, xi, wi) => expected[wi] += gy[yi] * x[xi]);
        using var dx = Emu.Up(x);
        using var dgy = Emu.Up(gy);
        using var dgw = splits > 1 ? Emu.Zeros(expected.Length) : Emu.Poisoned(expected.Length);
        var grid = new Dim3((uint)((g.C * g.R * g.S + 15) / 16), (uint)((g.K + 15) / 16), splits);
        Emu.Launch("conv2d_bwd_weight", grid, new Dim3(16, 16), 0, [dgw, dgy, dx, .. GeometryArgs(g)]);
        Oracle.Close(expected, Emu.Down(dgw), 1e-4, 1e-4, $"conv backward-weight {g}, {splits} splits");
    }
}
