using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Astmt.Engine.Cpu;

/// <summary>
/// Copies blocks of op(A) and op(B) into the k-major micro-panels the microkernels read with unit stride. Rows or columns
/// past the edge of the matrix are packed as zeros, so every microkernel call computes a full tile and only the store of
/// an edge tile is partial. Transposition is absorbed here: the microkernel never sees it.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>Floats the packing of A may write past the end of its block (see <see cref="Transpose8x8.RunRows"/>).</summary>
    public const int PackSlack = 8;

    /// <summary>Packs op(A)[i0..i0+mc, p0..p0+kc] into ceil(mc/MR) micro-panels of kc×MR; panel t starts at dst + t·MR·kc.
    /// A is M×K row-major with leading dimension lda (K×M when <paramref name="transposed"/>). For MR &lt; 8 the buffer needs
    /// <see cref="PackSlack"/> floats of room past the packed block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<TK>(bool transposed, float* a, nint lda, int i0, int mc, int p0, int kc, float* dst)
        where TK : struct, IMicrokernel
    {
        int mr = TK.MR;
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* d = dst + (nint)ir * kc;
            if (!transposed)
            {
                int p8 = 0;
                if (rows == mr && mr <= 8 && Transpose8x8.IsSupported)
                {
                    // MR rows × eight k at a time, transposed in registers.
                    float* src = a + (i0 + ir) * lda + p0;
                    for (; p8 + 8 <= kc; p8 += 8)
                    {
                        if ((p8 & 15) == 0) Transpose8x8.PrefetchRows(src + p8, lda, mr);
                        if (mr == 8) Transpose8x8.Run(src + p8, lda, d + (nint)p8 * 8, 8);
                        else Transpose8x8.RunRows(src + p8, lda, mr, d + (nint)p8 * mr, mr);
                    }
                    if (p8 == kc) continue;
                }
                // Rows of A are contiguous along k: read each row once, scatter it with stride MR.
                for (int r = 0; r < rows; r++)
                {
                    float* src = a + (i0 + ir + r) * lda + p0;
                    float* dr = d + r;
                    for (int p = p8; p < kc; p++) dr[(nint)p * mr] = src[p];
                }
                for (int r = rows; r < mr; r++)
                    for (int p = p8; p < kc; p++) d[(nint)p * mr + r] = 0f;
            }
            else
            {
                // Aᵀ stores the MR rows of one k contiguously: a straight copy per k.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (p0 + p) * lda + i0 + ir;
                    float* dp = d + (nint)p * mr;
                    CopyPadded(dp, src, rows, mr);
                }
            }
        }
    }

    /// <summary>Packs op(B)[p0..p0+kc, j0..j0+nc] into ceil(nc/NR) micro-panels of kc×NR; panel t starts at dst + t·NR·kc.
    /// B is K×N row-major with leading dimension ldb (N×K when <paramref name="transposed"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<TK>(bool transposed, float* b, nint ldb, int p0, int kc, int j0, int nc, float* dst)
        where TK : struct, IMicrokernel
    {
        int nr = TK.NR;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + (nint)jr * kc;
            if (!transposed)
            {
                // The kc rows are ldb apart (a feature map's channels, often 4 KiB multiples): far too many streams for the
                // hardware prefetcher, so each row's lines a few panels further along are prefetched here.
                bool prefetch = Sse.IsSupported && cols == nr;
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (p0 + p) * ldb + j0 + jr;
                    float* dp = d + (nint)p * nr;
                    if (prefetch)
                        for (int o = 0; o < nr; o += 16) Sse.Prefetch0(src + Transpose8x8.PrefetchAhead + o);
                    CopyPadded(dp, src, cols, nr);
                }
            }
            else
            {
                int j8 = 0;
                if (Transpose8x8.IsSupported)
                {
                    // Groups of eight columns × eight k, transposed in registers; the k tail and the last columns below.
                    int kc8 = kc & ~7;
                    for (; j8 + 8 <= cols; j8 += 8)
                    {
                        float* src = b + (j0 + jr + j8) * ldb + p0;
                        for (int p = 0; p < kc8; p += 8)
                        {
                            if ((p & 15) == 0) Transpose8x8.PrefetchRows(src + p, ldb, 8);
                            Transpose8x8.Run(src + p, ldb, d + (nint)p * nr + j8, nr);
                        }
                        for (int j = j8; j < j8 + 8; j++)
                            for (int p = kc8; p < kc; p++) d[(nint)p * nr + j] = src[(j - j8) * ldb + p];
                    }
                }
                // Bᵀ rows are contiguous along k: read each once, scatter with stride NR.
                for (int j = j8; j < cols; j++)
                {
                    float* src = b + (j0 + jr + j) * ldb + p0;
                    float* dj = d + j;
                    for (int p = 0; p < kc; p++) dj[(nint)p * nr] = src[p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++) d[(nint)p * nr + j] = 0f;
            }
        }
    }

    /// <summary>One k step of a micro-panel from contiguous source: <paramref name="count"/> floats copied, zeros up to
    /// <paramref name="width"/> (MR or NR) so that edge panels multiply as full ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPadded(float* dp, float* src, int count, int width)
    {
        if (count == width) Unsafe.CopyBlockUnaligned(dp, src, (uint)(width * sizeof(float)));
        else
        {
            for (int i = 0; i < count; i++) dp[i] = src[i];
            for (int i = count; i < width; i++) dp[i] = 0f;
        }
    }
}
