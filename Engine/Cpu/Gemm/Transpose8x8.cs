using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Astmt.Engine.Cpu;

/// <summary>
/// In-register 8×8 float transpose on AVX (unpack, shuffle, lane permute: 24 shuffles for 16 memory operations). Packing
/// the operands that must be transposed (A as stored, Bᵀ) with it replaces 64 scattered scalar stores per block, which
/// made packing slower than the multiply itself on thin problems such as convolution backward-weight.
/// </summary>
internal static unsafe class Transpose8x8
{
    /// <summary>How far ahead along each source row the packing loops prefetch (floats; 10 cache lines). Packing reads eight
    /// rows that are often 4 KiB multiples apart: too many short streams for the hardware prefetcher, so without this
    /// every line is a demand miss. Measured at 1 thread (thread-CPU, backward-weight 64×576×12288 nt): 4 lines 5.5 ms,
    /// 8 lines 5.2, 10 lines 5.2, 12 lines 5.6, 16 lines (one whole k block ahead, so useless) 5.8.</summary>
    public const int PrefetchAhead = 160;

    /// <summary>Prefetches the line <see cref="PrefetchAhead"/> floats ahead in each of <paramref name="rows"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchRows(float* src, nint srcStride, int rows)
    {
        for (int r = 0; r < rows; r++) Sse.Prefetch0(src + r * srcStride + PrefetchAhead);
    }

    /// <summary>True when the AVX shuffles are available.</summary>
    public static bool IsSupported => Avx.IsSupported;

    /// <summary>dst[c·dstStride + r] = src[r·srcStride + c] for r, c in 0..8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(float* src, nint srcStride, float* dst, nint dstStride)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride);
        var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride);
        var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride);
        var r7 = Avx.LoadVector256(src + 7 * srcStride);
        TransposeAndStore(r0, r1, r2, r3, r4, r5, r6, r7, dst, dstStride);
    }

    /// <summary>dst[c·dstStride + r] = r_r[c] for r, c in 0..8: the eight rows come from anywhere (implicit im2col reads
    /// them straight from the image).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(float* s0, float* s1, float* s2, float* s3, float* s4, float* s5, float* s6, float* s7, float* dst, nint dstStride) =>
        TransposeAndStore(Avx.LoadVector256(s0), Avx.LoadVector256(s1), Avx.LoadVector256(s2), Avx.LoadVector256(s3),
            Avx.LoadVector256(s4), Avx.LoadVector256(s5), Avx.LoadVector256(s6), Avx.LoadVector256(s7), dst, dstStride);

    /// <summary>
    /// Transposes <paramref name="rows"/> (≤ 8) rows of eight into eight rows of <paramref name="rows"/> packed with stride
    /// <paramref name="dstStride"/> (= rows, the MR of a 6- or 4-row microkernel). Each output row is stored as eight floats
    /// in increasing order, so the two surplus floats of one store are overwritten by the next; the last store writes up to
    /// eight zeros past the block, which the caller's buffer must have room for (and later packing overwrites).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunRows(float* src, nint srcStride, int rows, float* dst, nint dstStride)
    {
        var z = Vector256<float>.Zero;
        var r0 = Avx.LoadVector256(src);
        var r1 = rows > 1 ? Avx.LoadVector256(src + srcStride) : z;
        var r2 = rows > 2 ? Avx.LoadVector256(src + 2 * srcStride) : z;
        var r3 = rows > 3 ? Avx.LoadVector256(src + 3 * srcStride) : z;
        var r4 = rows > 4 ? Avx.LoadVector256(src + 4 * srcStride) : z;
        var r5 = rows > 5 ? Avx.LoadVector256(src + 5 * srcStride) : z;
        var r6 = rows > 6 ? Avx.LoadVector256(src + 6 * srcStride) : z;
        var r7 = rows > 7 ? Avx.LoadVector256(src + 7 * srcStride) : z;
        TransposeAndStore(r0, r1, r2, r3, r4, r5, r6, r7, dst, dstStride);
    }

    /// <summary>Transposes the eight loaded rows in registers (unpack, shuffle, lane permute) and stores the eight columns as
    /// rows of <paramref name="dst"/>; inlined into its callers, so the rows stay in ymm registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransposeAndStore(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, float* dst, nint dstStride)
    {
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(s3, s7, 0x31));
    }
}
