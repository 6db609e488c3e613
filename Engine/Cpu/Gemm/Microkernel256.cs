using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Astmt.Engine.Cpu;

/// <summary>
/// AVX2+FMA microkernel, 6×16: twelve ymm accumulators (6 rows × 2 vectors), two B loads and six broadcasts per k step.
/// 12 + 2 + 1 registers fit the sixteen ymm registers without spilling (the classic Haswell-class shape).
/// </summary>
internal unsafe struct Microkernel256 : IMicrokernel
{
    public static int MR => 6;
    public static int NR => 16;

    /// <summary>True when AVX2 and FMA3 are available.</summary>
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        var c00 = Vector256<float>.Zero; var c01 = Vector256<float>.Zero;
        var c10 = Vector256<float>.Zero; var c11 = Vector256<float>.Zero;
        var c20 = Vector256<float>.Zero; var c21 = Vector256<float>.Zero;
        var c30 = Vector256<float>.Zero; var c31 = Vector256<float>.Zero;
        var c40 = Vector256<float>.Zero; var c41 = Vector256<float>.Zero;
        var c50 = Vector256<float>.Zero; var c51 = Vector256<float>.Zero;
        // Touch the C tile now so its lines arrive while the k loop runs (rows of C are often 4 KiB apart and collide in L1).
        for (int r = 0; r < 6; r++)
        {
            Sse.Prefetch0(c + r * ldc);
            Sse.Prefetch0(c + r * ldc + 8);
        }
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(pb);
            var b1 = Vector256.Load(pb + 8);
            var a = Vector256.Create(pa[0]);
            c00 = Fma.MultiplyAdd(a, b0, c00); c01 = Fma.MultiplyAdd(a, b1, c01);
            a = Vector256.Create(pa[1]);
            c10 = Fma.MultiplyAdd(a, b0, c10); c11 = Fma.MultiplyAdd(a, b1, c11);
            a = Vector256.Create(pa[2]);
            c20 = Fma.MultiplyAdd(a, b0, c20); c21 = Fma.MultiplyAdd(a, b1, c21);
            a = Vector256.Create(pa[3]);
            c30 = Fma.MultiplyAdd(a, b0, c30); c31 = Fma.MultiplyAdd(a, b1, c31);
            a = Vector256.Create(pa[4]);
            c40 = Fma.MultiplyAdd(a, b0, c40); c41 = Fma.MultiplyAdd(a, b1, c41);
            a = Vector256.Create(pa[5]);
            c50 = Fma.MultiplyAdd(a, b0, c50); c51 = Fma.MultiplyAdd(a, b1, c51);
            pa += 6;
            pb += 16;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0f)
        {
            (c00 * va).Store(c); (c01 * va).Store(c + 8); c += ldc;
            (c10 * va).Store(c); (c11 * va).Store(c + 8); c += ldc;
            (c20 * va).Store(c); (c21 * va).Store(c + 8); c += ldc;
            (c30 * va).Store(c); (c31 * va).Store(c + 8); c += ldc;
            (c40 * va).Store(c); (c41 * va).Store(c + 8); c += ldc;
            (c50 * va).Store(c); (c51 * va).Store(c + 8);
            return;
        }
        var vb = Vector256.Create(beta);
        Update(c, c00, c01, va, vb); c += ldc;
        Update(c, c10, c11, va, vb); c += ldc;
        Update(c, c20, c21, va, vb); c += ldc;
        Update(c, c30, c31, va, vb); c += ldc;
        Update(c, c40, c41, va, vb); c += ldc;
        Update(c, c50, c51, va, vb);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunHalf(int kc, float* pa, float* pb, float* c, nint ldc, float alpha)
    {
        var c0 = Vector256<float>.Zero; var c1 = Vector256<float>.Zero; var c2 = Vector256<float>.Zero; var c3 = Vector256<float>.Zero; var c4 = Vector256<float>.Zero; var c5 = Vector256<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            var b = Vector256.Load(pb);
            c0 = Fma.MultiplyAdd(Vector256.Create(pa[0]), b, c0);
            c1 = Fma.MultiplyAdd(Vector256.Create(pa[1]), b, c1);
            c2 = Fma.MultiplyAdd(Vector256.Create(pa[2]), b, c2);
            c3 = Fma.MultiplyAdd(Vector256.Create(pa[3]), b, c3);
            c4 = Fma.MultiplyAdd(Vector256.Create(pa[4]), b, c4);
            c5 = Fma.MultiplyAdd(Vector256.Create(pa[5]), b, c5);
            pa += 6;
            pb += 16;
        }
        var va = Vector256.Create(alpha);
        (c0 * va).Store(c);
        (c1 * va).Store(c + 1 * ldc);
        (c2 * va).Store(c + 2 * ldc);
        (c3 * va).Store(c + 3 * ldc);
        (c4 * va).Store(c + 4 * ldc);
        (c5 * va).Store(c + 5 * ldc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Merge(float beta, float c, float t) => MathF.FusedMultiplyAdd(beta, c, t);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector256<float> acc0, Vector256<float> acc1, Vector256<float> va, Vector256<float> vb)
    {
        Fma.MultiplyAdd(vb, Vector256.Load(c), acc0 * va).Store(c);
        Fma.MultiplyAdd(vb, Vector256.Load(c + 8), acc1 * va).Store(c + 8);
    }
}
