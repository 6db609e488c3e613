using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Astmt.Engine.Cpu;

/// <summary>
/// AVX-512 microkernel, 8×32: sixteen zmm accumulators (8 rows × 2 vectors), two B loads and eight broadcasts per k step.
/// Sixteen independent FMA chains cover the 4-cycle FMA latency on two FMA pipes; the remaining registers hold the B row
/// and the broadcast, so nothing spills (.NET uses zmm16–31 with EVEX encoding).
/// </summary>
internal unsafe struct Microkernel512 : IMicrokernel
{
    public static int MR => 8;
    public static int NR => 32;

    /// <summary>True when the CPU and the runtime execute 512-bit vectors natively.</summary>
    public static bool IsSupported => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        var c00 = Vector512<float>.Zero; var c01 = Vector512<float>.Zero;
        var c10 = Vector512<float>.Zero; var c11 = Vector512<float>.Zero;
        var c20 = Vector512<float>.Zero; var c21 = Vector512<float>.Zero;
        var c30 = Vector512<float>.Zero; var c31 = Vector512<float>.Zero;
        var c40 = Vector512<float>.Zero; var c41 = Vector512<float>.Zero;
        var c50 = Vector512<float>.Zero; var c51 = Vector512<float>.Zero;
        var c60 = Vector512<float>.Zero; var c61 = Vector512<float>.Zero;
        var c70 = Vector512<float>.Zero; var c71 = Vector512<float>.Zero;
        // Touch the C tile now so its lines arrive while the k loop runs (rows of C are often 4 KiB apart and collide in L1).
        for (int r = 0; r < 8; r++)
        {
            Sse.Prefetch0(c + r * ldc);
            Sse.Prefetch0(c + r * ldc + 16);
        }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(pb);
            var b1 = Vector512.Load(pb + 16);
            var a = Vector512.Create(pa[0]);
            c00 = Avx512F.FusedMultiplyAdd(a, b0, c00); c01 = Avx512F.FusedMultiplyAdd(a, b1, c01);
            a = Vector512.Create(pa[1]);
            c10 = Avx512F.FusedMultiplyAdd(a, b0, c10); c11 = Avx512F.FusedMultiplyAdd(a, b1, c11);
            a = Vector512.Create(pa[2]);
            c20 = Avx512F.FusedMultiplyAdd(a, b0, c20); c21 = Avx512F.FusedMultiplyAdd(a, b1, c21);
            a = Vector512.Create(pa[3]);
            c30 = Avx512F.FusedMultiplyAdd(a, b0, c30); c31 = Avx512F.FusedMultiplyAdd(a, b1, c31);
            a = Vector512.Create(pa[4]);
            c40 = Avx512F.FusedMultiplyAdd(a, b0, c40); c41 = Avx512F.FusedMultiplyAdd(a, b1, c41);
            a = Vector512.Create(pa[5]);
            c50 = Avx512F.FusedMultiplyAdd(a, b0, c50); c51 = Avx512F.FusedMultiplyAdd(a, b1, c51);
            a = Vector512.Create(pa[6]);
            c60 = Avx512F.FusedMultiplyAdd(a, b0, c60); c61 = Avx512F.FusedMultiplyAdd(a, b1, c61);
            a = Vector512.Create(pa[7]);
            c70 = Avx512F.FusedMultiplyAdd(a, b0, c70); c71 = Avx512F.FusedMultiplyAdd(a, b1, c71);
            pa += 8;
            pb += 32;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0f)
        {
            (c00 * va).Store(c); (c01 * va).Store(c + 16); c += ldc;
            (c10 * va).Store(c); (c11 * va).Store(c + 16); c += ldc;
            (c20 * va).Store(c); (c21 * va).Store(c + 16); c += ldc;
            (c30 * va).Store(c); (c31 * va).Store(c + 16); c += ldc;
            (c40 * va).Store(c); (c41 * va).Store(c + 16); c += ldc;
            (c50 * va).Store(c); (c51 * va).Store(c + 16); c += ldc;
            (c60 * va).Store(c); (c61 * va).Store(c + 16); c += ldc;
            (c70 * va).Store(c); (c71 * va).Store(c + 16);
            return;
        }
        var vb = Vector512.Create(beta);
        Update(c, c00, c01, va, vb); c += ldc;
        Update(c, c10, c11, va, vb); c += ldc;
        Update(c, c20, c21, va, vb); c += ldc;
        Update(c, c30, c31, va, vb); c += ldc;
        Update(c, c40, c41, va, vb); c += ldc;
        Update(c, c50, c51, va, vb); c += ldc;
        Update(c, c60, c61, va, vb); c += ldc;
        Update(c, c70, c71, va, vb);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunHalf(int kc, float* pa, float* pb, float* c, nint ldc, float alpha)
    {
        var c0 = Vector512<float>.Zero; var c1 = Vector512<float>.Zero; var c2 = Vector512<float>.Zero; var c3 = Vector512<float>.Zero; var c4 = Vector512<float>.Zero; var c5 = Vector512<float>.Zero; var c6 = Vector512<float>.Zero; var c7 = Vector512<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            var b = Vector512.Load(pb);
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[0]), b, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[1]), b, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[2]), b, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[3]), b, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[4]), b, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[5]), b, c5);
            c6 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[6]), b, c6);
            c7 = Avx512F.FusedMultiplyAdd(Vector512.Create(pa[7]), b, c7);
            pa += 8;
            pb += 32;
        }
        var va = Vector512.Create(alpha);
        (c0 * va).Store(c);
        (c1 * va).Store(c + 1 * ldc);
        (c2 * va).Store(c + 2 * ldc);
        (c3 * va).Store(c + 3 * ldc);
        (c4 * va).Store(c + 4 * ldc);
        (c5 * va).Store(c + 5 * ldc);
        (c6 * va).Store(c + 6 * ldc);
        (c7 * va).Store(c + 7 * ldc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Merge(float beta, float c, float t) => MathF.FusedMultiplyAdd(beta, c, t);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector512<float> acc0, Vector512<float> acc1, Vector512<float> va, Vector512<float> vb)
    {
        Avx512F.FusedMultiplyAdd(vb, Vector512.Load(c), acc0 * va).Store(c);
        Avx512F.FusedMultiplyAdd(vb, Vector512.Load(c + 16), acc1 * va).Store(c + 16);
    }
}
