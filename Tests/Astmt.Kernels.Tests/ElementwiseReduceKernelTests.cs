using Astmt.Engine.Cuda;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>elementwise.cu and reduce.cu on the emulator against float64 loops.</summary>
[TestFixture, Category("Emulator")]
public class ElementwiseReduceKernelTests
{
    private static readonly EmulatorSchedule[] Schedules = [EmulatorSchedule.Forward, EmulatorSchedule.Random];

    [Test]
    public void FillsAffineAndInPlaceAdd([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(60);
        int n = 999;
        using var f = Emu.Poisoned(n);
        Emu.LaunchElements("fill_f32", n, f, 2.5f, (long)n);
        Oracle.Close(Enumerable.Repeat(2.5, n).ToArray(), Emu.Down(f), 0, 0, "fill_f32");
        using var l = new CudaDeviceVariable<long>(Emu.Context, n);
        Emu.LaunchElements("fill_i64", n, l, -7L, (long)n);
        Assert.That(l.ToArray(), Is.All.EqualTo(-7L));
        Emu.LaunchElements("add_scalar_i64", n, l, 3L << 33, (long)n);
        Assert.That(l.ToArray(), Is.All.EqualTo((3L << 33) - 7), "add_scalar_i64 (beyond 32 bits)");
        var x = Oracle.AsFloat(Oracle.Normal(rng, n)); var y0 = Oracle.AsFloat(Oracle.Normal(rng, n));
        using var gx = Emu.Up(x); using var gy = Emu.Poisoned(n); using var acc = Emu.Up(y0);
        Emu.LaunchElements("affine_f32", n, gy, gx, -1.5f, 0.25f, (long)n);
        Oracle.Close(x.Select(v => v * -1.5 + 0.25).ToArray(), Emu.Down(gy), 1e-6, 1e-6, "affine");
        Emu.LaunchElements("add_inplace_f32", n, acc, gx, (long)n);
        Oracle.Close(y0.Zip(x, (a, b) => a + b).ToArray(), Emu.Down(acc), 1e-6, 1e-6, "add in place");
    }

    [Test]
    public void ConvertsBetweenFloatAndInt64([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(59);
        int n = 1031;
        // Labels (0..20 and 255) plus fractional and negative values, which truncate toward zero as the host's (long) cast.
        var x = Enumerable.Range(0, n).Select(i => i % 3 == 0 ? (double)(i % 7 == 0 ? 255 : rng.Next(21)) : (float)(rng.NextDouble() * 600 - 300)).ToArray();
        using var gx = Emu.Up(x);
        using var labels = new CudaDeviceVariable<long>(Emu.Context, n);
        Emu.Context.Memset32(labels.DevicePointer, 0x7fc00000u, 2L * n);
        Emu.LaunchElements("convert_f32_i64", n, labels, gx, (long)n);
        Assert.That(labels.ToArray(), Is.EqualTo(x.Select(v => (long)Math.Truncate(v)).ToArray()), "convert_f32_i64");

        var values = Enumerable.Range(0, n).Select(i => i % 5 == 0 ? (long)rng.Next(-1000, 1000) : (long)rng.Next(-1 << 30, 1 << 30) * 4L).ToArray();
        using var gl = Emu.Up(values);
        using var gy = Emu.Poisoned(n);
        Emu.LaunchElements("convert_i64_f32", n, gy, gl, (long)n);
        Assert.That(gy.ToArray(), Is.EqualTo(values.Select(v => (float)v).ToArray()), "convert_i64_f32 (rounded to nearest float)");
    }

    private static double Unary(int op, double v, double p, double q) => op switch
    {
        0 => Math.Max(v, 0),
        1 => 1 / (1 + Math.Exp(-v)),
        2 => Math.Exp(v),
        3 => Math.Log(v),
        4 => Math.Sqrt(v),
        5 => Math.Abs(v),
        6 => v * v,
        7 => Math.Pow(v, p),
        8 => -v,
        9 => Math.Tanh(v),
        10 => Math.Min(Math.Max(v, p), q),
        11 => Math.Sign(v),
        12 => v != p ? 1 : 0,
        13 => v > p ? 1 : 0,
        _ => v >= p && v <= q ? 1 : 0,
    };

    [Test]
    public void UnaryFunctions([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Range(0, 14)] int op)
    {
        Emu.Use(schedule);
        var rng = new Random(61 + op);
        int n = 517;
        // Log, sqrt and pow get positive inputs; the masks get some exact hits of p.
        var x = op is 3 or 4 or 7 ? Oracle.Uniform(rng, n, 0.05, 4) : Oracle.AsFloat(Oracle.Normal(rng, n, 2));
        if (op == 12) for (int i = 0; i < n; i += 5) x[i] = 0.5;
        const float p = 0.5f, q = 1.25f;
        var expected = x.Select(v => Unary(op, v, p, q)).ToArray();
        using var gx = Emu.Up(x); using var gy = Emu.Poisoned(n);
        Emu.LaunchElements("unary_f32", n, gy, gx, op, p, q, (long)n);
        Oracle.Close(expected, Emu.Down(gy), 1e-6, 2e-6, $"unary op {op}");
    }

    [Test]
    public void ActivationBackward([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(62);
        int n = 701;
        var dy = Oracle.AsFloat(Oracle.Normal(rng, n)); var x = Oracle.AsFloat(Oracle.Normal(rng, n));
        var r = x.Select(v => Math.Max(v, 0)).ToArray(); var s = x.Select(v => (double)(float)(1 / (1 + Math.Exp(-v)))).ToArray();
        using var gdy = Emu.Up(dy); using var gr = Emu.Up(r); using var gs = Emu.Up(s); using var gdx = Emu.Poisoned(n);
        Emu.LaunchElements("relu_bwd", n, gdx, gdy, gr, (long)n);
        Oracle.Close(dy.Select((d, i) => r[i] > 0 ? d : 0).ToArray(), Emu.Down(gdx), 0, 0, "relu backward");
        Emu.LaunchElements("sigmoid_bwd", n, gdx, gdy, gs, (long)n);
        Oracle.Close(dy.Select((d, i) => d * s[i] * (1 - s[i])).ToArray(), Emu.Down(gdx), 1e-7, 1e-6, "sigmoid backward");
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private unsafe struct Broadcast6
    {
        public fixed int Size[6];
        public fixed int AStride[6];
        public fixed int BStride[6];
    }

    [Test]
    public unsafe void BroadcastingBinaryWithStridedOperands([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Range(0, 3)] int op)
    {
        Emu.Use(schedule);
        var rng = new Random(63 + op);
        // y [2,3,5,7] = a [2,3,5,7] viewed transposed from storage [2,3,7,5], op b [3,1,7] (broadcast over batch and rows).
        int[] shape = [2, 3, 5, 7];
        int n = 2 * 3 * 5 * 7;
        var aStore = Oracle.AsFloat(Oracle.Normal(rng, n));
        var b = Oracle.Uniform(rng, 3 * 7, 0.5, 2);
        var expected = new double[n];
        for (int i0 = 0; i0 < 2; i0++) for (int i1 = 0; i1 < 3; i1++) for (int i2 = 0; i2 < 5; i2++) for (int i3 = 0; i3 < 7; i3++)
        {
            double av = aStore[((i0 * 3 + i1) * 7 + i3) * 5 + i2], bv = b[i1 * 7 + i3];
            expected[((i0 * 3 + i1) * 5 + i2) * 7 + i3] = op switch { 0 => av + bv, 1 => av - bv, 2 => av * bv, _ => av / bv };
        }
        var s = new Broadcast6();
        int[] aStrides = [105, 35, 1, 5], bStrides = [0, 7, 0, 1];
        for (int d = 0; d < 6; d++)
        {
            s.Size[d] = d < 2 ? 1 : shape[d - 2];
            s.AStride[d] = d < 2 ? 0 : aStrides[d - 2];
            s.BStride[d] = d < 2 ? 0 : bStrides[d - 2];
        }
        using var ga = Emu.Up(aStore); using var gb = Emu.Up(b); using var gy = Emu.Poisoned(n);
        var k = new CudaKernel(Emu.Context, "binary_broadcast_f32") { GridDimensions = 2, BlockDimensions = 256 };
        k.Run(new KernelArgs().Ptr(gy.DevicePointer).Ptr(ga.DevicePointer).Ptr(gb.DevicePointer).Int(op).Struct(s).Long(n));
        Oracle.Close(expected, Emu.Down(gy), 1e-6, 1e-6, $"binary op {op}");
    }

    [Test]
    public unsafe void StridedGatherMakesAViewContiguous([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(66);
        // x storage [4,6,5]; the view is x[1:, :, 2:4] permuted to [2, 3, 6] (dims 2, 0, 1).
        var x = Oracle.AsFloat(Oracle.Normal(rng, 4 * 6 * 5));
        var expected = new double[2 * 3 * 6];
        for (int a = 0; a < 2; a++) for (int b = 0; b < 3; b++) for (int c = 0; c < 6; c++)
            expected[(a * 3 + b) * 6 + c] = x[((1 + b) * 6 + c) * 5 + 2 + a];
        var s = new Broadcast6();
        int[] size = [2, 3, 6], strides = [1, 30, 5];
        for (int d = 0; d < 6; d++) { s.Size[d] = d < 3 ? 1 : size[d - 3]; s.AStride[d] = d < 3 ? 0 : strides[d - 3]; }
        using var gx = Emu.Up(x); using var gy = Emu.Poisoned(expected.Length);
        var k = new CudaKernel(Emu.Context, "gather_strided_f32") { GridDimensions = 1, BlockDimensions = 256 };
        k.Run(new KernelArgs().Ptr(gy.DevicePointer).Ptr(gx.DevicePointer + (ulong)(30 + 2) * sizeof(float)).Struct(s).Long(expected.Length));
        Oracle.Close(expected, Emu.Down(gy), 0, 0, "strided gather");
    }

    [Test]
    public void AxisReductions([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(64);
        int outer = 5, mid = 37, inner = 13;
        var x = Oracle.AsFloat(Oracle.Normal(rng, outer * mid * inner));
        using var gx = Emu.Up(x);
        // reduce_rows sums the last axis: the same data seen as [outer, mid·inner] (rows longer than a block).
        int rowCount = outer, rowLength = mid * inner;
        var rowSums = new double[rowCount];
        for (int r = 0; r < rowCount; r++) for (int i = 0; i < rowLength; i++) rowSums[r] += x[r * rowLength + i];
        using var gRows = Emu.Poisoned(rowCount);
        Emu.Launch("reduce_rows", 3, 256, 0, gRows, gx, rowCount, rowLength);
        Oracle.Close(rowSums, Emu.Down(gRows), 1e-5, 1e-5, "reduce_rows");
        var midSums = new double[outer * inner];
        for (int o = 0; o < outer; o++) for (int m = 0; m < mid; m++) for (int i = 0; i < inner; i++) midSums[o * inner + i] += x[(o * mid + m) * inner + i];
        using var gMid = Emu.Poisoned(outer * inner);
        Emu.LaunchElements("reduce_mid", outer * inner, gMid, gx, outer, mid, inner);
        Oracle.Close(midSums, Emu.Down(gMid), 1e-4, 1e-4, "reduce_mid");
        using var gAll = Emu.Zeros(1);
        Emu.LaunchElements("sum_all", x.Length, gAll, gx, (long)x.Length);
        Oracle.Close([x.Sum()], Emu.Down(gAll), 1e-3, 1e-4, "sum_all");
    }

    [Test]
    public void MaxOneHotAndNormAlongAnAxis([ValueSource(nameof(Schedules))] EmulatorSchedule schedule)
    {
        Emu.Use(schedule);
        var rng = new Random(67);
        int outer = 3, size = 6, inner = 29;
        var x = Oracle.AsFloat(Oracle.Normal(rng, outer * size * inner));
        x[(1 * size + 2) * inner + 4] = x[(1 * size + 4) * inner + 4] = 9; // a tie: the first index wins
        var max = new double[outer * inner]; var idx = new long[outer * inner]; var norm = new double[outer * inner];
        var onehot = new double[x.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int best = 0; double ss = 0;
                for (int s = 0; s < size; s++)
                {
                    double v = x[(o * size + s) * inner + i];
                    if (v > x[(o * size + best) * inner + i]) best = s;
                    ss += v * v;
                }
                max[o * inner + i] = x[(o * size + best) * inner + i]; idx[o * inner + i] = best; norm[o * inner + i] = Math.Sqrt(ss);
                onehot[(o * size + best) * inner + i] = 1;
            }
        using var gx = Emu.Up(x); using var gmax = Emu.Poisoned(max.Length); using var gidx = new CudaDeviceVariable<long>(Emu.Context, idx.Length);
        using var gnorm = Emu.Poisoned(norm.Length); using var gone = Emu.Zeros(x.Length);
        Emu.LaunchElements("max_along", outer * inner, gmax, gidx, gx, outer, size, inner);
        Emu.LaunchElements("one_hot_along", outer * inner, gone, gidx, outer, size, inner);
        Emu.LaunchElements("norm_along", outer * inner, gnorm, gx, outer, size, inner);
        Oracle.Close(max, Emu.Down(gmax), 0, 0, "max along");
        Assert.That(gidx.ToArray(), Is.EqualTo(idx), "argmax along");
        Oracle.Close(onehot, Emu.Down(gone), 0, 0, "one-hot along");
        Oracle.Close(norm, Emu.Down(gnorm), 1e-6, 1e-5, "norm along");
    }

    [Test]
    public void ChannelSums([ValueSource(nameof(Schedules))] EmulatorSchedule schedule, [Values(0, 1)] int accumulate)
    {
        Emu.Use(schedule);
        var rng = new Random(65);
        int B = 3, C = 5, HW = 97;
        var x = Oracle.AsFloat(Oracle.Normal(rng, B * C * HW)); var y0 = Oracle.AsFloat(Oracle.Normal(rng, C));
        var expected = new double[C];
        for (int c = 0; c < C; c++) { expected[c] = accumulate == 1 ? y0[c] : 0; for (int b = 0; b < B; b++) for (int i = 0; i < HW; i++) expected[c] += x[(b * C + c) * HW + i]; }
        using var gx = Emu.Up(x); using var gy = Emu.Up(y0);
        Emu.Launch("channel_sum", C, 256, 0, gy, gx, B, C, HW, accumulate);
        Oracle.Close(expected, Emu.Down(gy), 1e-4, 1e-5, "channel_sum");
    }
}
