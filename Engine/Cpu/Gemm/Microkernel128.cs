using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Astmt.Engine.Cpu;

/// <summary>
/// Portable fallback microkernel, 4×8 on Vector128: eight accumulators. Runs anywhere (SSE, NEON, or the runtime's software
/// vectors). It uses a fused multiply-add where the hardware has one and multiply-then-add otherwise
/// (<see cref="Vector128.MultiplyAddEstimate(Vector128{float}, Vector128{float}, Vector128{float})"/>).
/// </summary>
internal unsafe struct Microkernel128 : IMicrokernel
{
    public static int MR => 4;
    public static int NR => 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta)
    {
        var c00 = Vector128<float>.Zero; var c01 = Vector128<float>.Zero;
        var c10 = Vector128<float>.Zero; var c11 = Vector128<float>.Zero;
        var c20 = Vector128<float>.Zero; var c21 = Vector128<float>.Zero;
        var c30 = Vector128<float>.Zero; var c31 = Vector128<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector128.Load(pb);
            var b1 = Vector128.Load(pb + 4);
            var a = Vector128.Create(pa[0]);
            c00 = Vector128.MultiplyAddEstimate(a, b0, c00); c01 = Vector128.MultiplyAddEstimate(a, b1, c01);
            a = Vector128.Create(pa[1]);
            c10 = Vector128.MultiplyAddEstimate(a, b0, c10); c11 = Vector128.MultiplyAddEstimate(a, b1, c11);
            a = Vector128.Create(pa[2]);
            c20 = Vector128.MultiplyAddEstimate(a, b0, c20); c21 = Vector128.MultiplyAddEstimate(a, b1, c21);
            a = Vector128.Create(pa[3]);
            c30 = Vector128.MultiplyAddEstimate(a, b0, c30); c31 = Vector128.MultiplyAddEstimate(a, b1, c31);
            pa += 4;
            pb += 8;
        }
        var va = Vector128.Create(alpha);
        if (beta == 0f)
        {
            (c00 * va).Store(c); (c01 * va).Store(c + 4); c += ldc;
            (c10 * va).Store(c); (c11 * va).Store(c + 4); c += ldc;
            (c20 * va).Store(c); (c21 * va).Store(c + 4); c += ldc;
            (c30 * va).Store(c); (c31 * va).Store(c + 4);
            return;
        }
        var vb = Vector128.Create(beta);
        Update(c, c00, c01, va, vb); c += ldc;
        Update(c, c10, c11, va, vb); c += ldc;
        Update(c, c20, c21, va, vb); c += ldc;
        Update(c, c30, c31, va, vb);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunHalf(int kc, float* pa, float* pb, float* c, nint ldc, float alpha)
    {
        var c0 = Vector128<float>.Zero; var c1 = Vector128<float>.Zero; var c2 = Vector128<float>.Zero; var c3 = Vector128<float>.Zero;
        for (int p = 0; p < kc; p++)
        {
            var b = Vector128.Load(pb);
            c0 = Vector128.MultiplyAddEstimate(Vector128.Create(pa[0]), b, c0);
            c1 = Vector128.MultiplyAddEstimate(Vector128.Create(pa[1]), b, c1);
            c2 = Vector128.MultiplyAddEstimate(Vector128.Create(pa[2]), b, c2);
            c3 = Vector128.MultiplyAddEstimate(Vector128.Create(pa[3]), b, c3);
            pa += 4;
            pb += 8;
        }
        var va = Vector128.Create(alpha);
        (c0 * va).Store(c);
        (c1 * va).Store(c + 1 * ldc);
        (c2 * va).Store(c + 2 * ldc);
        (c3 * va).Store(c + 3 * ldc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Merge(float beta, float c, float t) => Vector128.MultiplyAddEstimate(Vector128.Create(beta), Vector128.Create(c), Vector128.Create(t)).ToScalar();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector128<float> acc0, Vector128<float> acc1, Vector128<float> va, Vector128<float> vb)
    {
        Vector128.MultiplyAddEstimate(vb, Vector128.Load(c), acc0 * va).Store(c);
        Vector128.MultiplyAddEstimate(vb, Vector128.Load(c + 4), acc1 * va).Store(c + 4);
    }
}
