using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Astmt.Engine.Cpu;

namespace Astmt.Bench.Measurement;

/// <summary>
/// This machine's FMA peak, measured rather than looked up: every thread runs a loop of independent register-only FMAs
/// (twelve chains, enough to cover FMA latency × pipes on current x86 cores) at the widest vector width the CPU executes.
/// GFLOP/s = threads × iterations × chains × lanes × 2 / wall time, best of forty short runs. <see cref="PerCoreTimesThreads"/> is the
/// denominator of "% of peak": one core's figure times the thread count, which does not sag when other processes share
/// the machine during the measurement.
/// </summary>
internal static class FmaPeak
{
    // Short runs (about 0.3 ms on one core), best of many: at least one lands inside an undisturbed time slice even when
    // other processes share the machine, so the peak is not understated.
    private const int Iterations = 250_000;
    private const int Tries = 40;
    private static float _sink;

    /// <summary>One core's measured peak times <paramref name="threads"/>, and the vector width used.</summary>
    public static (double GflopPerS, string Width) PerCoreTimesThreads(int threads)
    {
        var (one, width) = Measure(1);
        return (one * threads, width);
    }

    /// <summary>Measured peak in GFLOP/s with <paramref name="threads"/> threads running at once, and the vector width used.</summary>
    public static (double GflopPerS, string Width) Measure(int threads)
    {
        int saved = Parallelism.Threads;
        Parallelism.Threads = threads;
        try
        {
            string width = Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? "avx512" : Fma.IsSupported ? "avx2+fma" : "vector128";
            int lanes = width == "avx512" ? 16 : width == "avx2+fma" ? 8 : 4;
            var work = new Loop(width);
            Parallelism.Run(work, threads); // warm-up and JIT
            double best = double.MaxValue;
            for (int r = 0; r < Tries; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                Parallelism.Run(work, threads);
                best = Math.Min(best, (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency);
            }
            double flops = (double)threads * Iterations * 12 * lanes * 2;
            return (flops / best / 1e9, width);
        }
        finally { Parallelism.Threads = saved; }
    }

    private sealed class Loop(string width) : IParallelWork
    {
        public void Execute(int part, int parts)
        {
            float r = width switch { "avx512" => Run512(), "avx2+fma" => Run256(), _ => Run128() };
            _sink += r;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run512()
    {
        var m = Vector512.Create(0.999999f); var a = Vector512.Create(1e-7f);
        Vector512<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
        for (int i = 0; i < Iterations; i++)
        {
            c0 = Avx512F.FusedMultiplyAdd(c0, m, a); c1 = Avx512F.FusedMultiplyAdd(c1, m, a);
            c2 = Avx512F.FusedMultiplyAdd(c2, m, a); c3 = Avx512F.FusedMultiplyAdd(c3, m, a);
            c4 = Avx512F.FusedMultiplyAdd(c4, m, a); c5 = Avx512F.FusedMultiplyAdd(c5, m, a);
            c6 = Avx512F.FusedMultiplyAdd(c6, m, a); c7 = Avx512F.FusedMultiplyAdd(c7, m, a);
            c8 = Avx512F.FusedMultiplyAdd(c8, m, a); c9 = Avx512F.FusedMultiplyAdd(c9, m, a);
            c10 = Avx512F.FusedMultiplyAdd(c10, m, a); c11 = Avx512F.FusedMultiplyAdd(c11, m, a);
        }
        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run256()
    {
        var m = Vector256.Create(0.999999f); var a = Vector256.Create(1e-7f);
        Vector256<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
        for (int i = 0; i < Iterations; i++)
        {
            c0 = Fma.MultiplyAdd(c0, m, a); c1 = Fma.MultiplyAdd(c1, m, a);
            c2 = Fma.MultiplyAdd(c2, m, a); c3 = Fma.MultiplyAdd(c3, m, a);
            c4 = Fma.MultiplyAdd(c4, m, a); c5 = Fma.MultiplyAdd(c5, m, a);
            c6 = Fma.MultiplyAdd(c6, m, a); c7 = Fma.MultiplyAdd(c7, m, a);
            c8 = Fma.MultiplyAdd(c8, m, a); c9 = Fma.MultiplyAdd(c9, m, a);
            c10 = Fma.MultiplyAdd(c10, m, a); c11 = Fma.MultiplyAdd(c11, m, a);
        }
        return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Run128()
    {
        var m = Vector128.Create(0.999999f); var a = Vector128.Create(1e-7f);
        Vector128<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
        for (int i = 0; i < Iterations; i++)
        {
            c0 = Vector128.MultiplyAddEstimate(c0, m, a); c1 = Vector128.MultiplyAddEstimate(c1, m, a);
            c2 = Vector128.MultiplyAddEstimate(c2, m, a); c3 = Vector128.MultiplyAddEstimate(c3, m, a);
            c4 = Vector128.MultiplyAddEstimate(c4, m, a); c5 = Vector128.MultiplyAddEstimate(c5, m, a);
            c6 = Vector128.MultiplyAddEstimate(c6, m, a); c7 = Vector128.MultiplyAddEstimate(c7, m, a);
            c8 = Vector128.MultiplyAddEstimate(c8, m, a); c9 = Vector128.MultiplyAddEstimate(c9, m, a);
            c10 = Vector128.MultiplyAddEstimate(c10, m, a); c11 = Vector128.MultiplyAddEstimate(c11, m, a);
        }
        return Vector128.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
