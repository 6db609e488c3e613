using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

/// <summary>
/// Backward-weight of the float32 3x3 stride-1 convolution by Winograd F(2x2, 3x3). The forward tile is
/// y = Aᵀ[(G·g·Gᵀ) ⊙ (Bᵀ·d·B)]A, bilinear in g and d, so the weight gradient is
/// gw[k,c] = Gᵀ·[Σ_tiles (A·dy·Aᵀ)[k] ⊙ (Bᵀ·d·B)[c]]·G with dy the 2x2 output-gradient tile (cells past the output edge are
/// not outputs, so they count as zero) and d the zero-padded 4x4 input patch of the forward pass. Per ξ (16 of them) the
/// sum is a GEMM whose reduction runs over the tiles: M[ξ] [K × C] = Dy[ξ] [K × tiles] · V[ξ] [C × tiles]ᵀ, 16 multiply-adds
/// per tile and channel pair instead of the implicit GEMM's 36.
/// <para>
/// The tiles go in fixed blocks (<see cref="WeightGradBlockTiles"/>, independent of the thread count): each block's Dy and
/// V are transformed into per-thread buffers (the transforms split over channels) and added into M with
/// <see cref="Gemm.Sgemm"/>, beta = 1 after the first block. Sgemm is bit-identical for any thread count and the blocks
/// are summed in order, so the gradient is too. The last step maps each 4x4 M[·][k,c] to 3x3 with Gᵀ·M·G.
/// </para>
/// </summary>
internal static unsafe partial class Conv2dWinograd
{
    /// <summary>Whether <see cref="Conv2dKernels.BackwardWeight{T}"/> uses this path (also needs <see cref="Enabled"/>);
    /// environment <c>ASTMT_CONV_WINOGRAD_BW=0</c> turns it off alone, for A/B measurement.</summary>
    internal static bool BackwardWeightEnabled { get; set; } = FromEnvironment("ASTMT_CONV_WINOGRAD_BW");

    /// <summary>Whether backward-weight of <paramref name="g"/> should run here (see <see cref="MinChannels"/>, <see cref="MinTiles"/>).</summary>
    public static bool UseForBackwardWeight(in Conv2dGeometry g) =>
        Enabled && BackwardWeightEnabled && Supports(g) && g.C >= MinChannels && g.K >= MinChannels && Math.Max(g.C, g.K) <= MaxWeightGradChannels
        && Tiles(g.B, g.P, g.Q) >= MinTiles;

    /// <summary>Most channels on either side for the backward-weight dispatch. Single thread, batch 2, best of 5 against the
    /// implicit GEMM: 64→64 at 96x128 9.3 → 7.0 ms, 128→128 at 48x64 8.7 → 5.7, 256→256 at 24x32 8.9 → 6.7; but 256→512 and
    /// 512→512 at 12x16 (96 tiles) 4.5 and 9.1 ms either way: the products are then short and wide (k = 96 tiles for a
    /// 512x512 result) and Sgemm's packing and M's 16 MB dominate.</summary>
    internal static int MaxWeightGradChannels { get; set; } = 256;

    /// <summary>Tiles per block of the weight gradient: the transformed block, 16·(C + K)·tiles floats, near 4 MiB, at least
    /// 64 tiles (a GEMM reduction shorter than that spends its time reading and writing M) and at most 1024.</summary>
    private static int WeightGradBlockTiles(int channels, int outChannels) =>
        Math.Clamp((1 << 20) / (16 * (channels + outChannels)) / 8 * 8, 64, 1024);

    /// <summary>gw [K,C,3,3] = the weight gradient of the convolution of x [B,C,H,W] giving gy [B,K,P,Q] (overwrites gw).</summary>
    public static void BackwardWeight(in Conv2dGeometry g, float[] x, int xOff, float[] gy, int gyOff, Span<float> gw)
    {
        Check(g, gw.Length, x.Length - xOff, (long)g.B * g.C * g.H * g.W, gy.Length - gyOff, (long)g.B * g.K * g.P * g.Q, "backward-weight");
        if (g.K == 0 || g.C == 0) return;
        int tilesH = (g.P + 1) / 2, tilesW = (g.Q + 1) / 2;
        long tilesLong = (long)g.B * tilesH * tilesW;
        if (tilesLong == 0)
        {
            gw[..(g.K * g.C * 9)].Clear();
            return;
        }
        int tiles = checked((int)tilesLong);
        int blockTiles = ForcedBlockTiles is int forced ? RoundUp(forced, 8) : WeightGradBlockTiles(g.C, g.K);
        blockTiles = Math.Min(blockTiles, RoundUp(tiles, 8));
        // Eight lanes of slack per row: the last group of a block may write up to seven lanes past its end.
        int ld = blockTiles + 8;
        nint vStride = PaddedStride((nint)g.C * ld), dyStride = PaddedStride((nint)g.K * ld), mStride = PaddedStride((nint)g.K * g.C);
        float* v = Scratch.WeightGradV(checked((int)(16 * vStride)));
        float* dy = Scratch.WeightGradDy(checked((int)(16 * dyStride)));
        float* m = Scratch.WeightGradM(checked((int)(16 * mStride)));
        fixed (float* px = x)
        fixed (float* pg = gy)
        fixed (float* pw = gw)
        {
            var state = new WeightGradState
            {
                X = (nint)(px + xOff), Gy = (nint)(pg + gyOff), V = (nint)v, Dy = (nint)dy,
                C = g.C, K = g.K, H = g.H, W = g.W, P = g.P, Q = g.Q, Pad = g.Padding, TilesH = tilesH, TilesW = tilesW,
                Ld = ld, VStride = vStride, DyStride = dyStride,
            };
            for (int t0 = 0; t0 < tiles; t0 += blockTiles)
            {
                state.T0 = t0;
                state.Count = Math.Min(blockTiles, tiles - t0);
                // Channels of x then of gy, one range for both: every index is one transform of one channel.
                Parallelism.For(0, g.C + g.K, 4, state, static (in WeightGradState s, int c0, int c1) =>
                {
                    for (int c = c0; c < c1; c++)
                    {
                        if (c < s.C) TransformInputForWeightGrad(s, c);
                        else TransformGradientForWeightGrad(s, c - s.C);
                    }
                });
                float beta = t0 == 0 ? 0f : 1f;
                for (int xi = 0; xi < 16; xi++)
                {
                    // M[ξ] [K, C] (+)= Dy[ξ] [K, count] · V[ξ] [C, count]ᵀ
                    Gemm.Sgemm(Transpose.No, Transpose.Yes, g.K, g.C, state.Count, 1f,
                        new ReadOnlySpan<float>(dy + xi * dyStride, g.K * ld), ld,
                        new ReadOnlySpan<float>(v + xi * vStride, g.C * ld), ld, beta,
                        new Span<float>(m + xi * mStride, g.K * g.C), g.C);
                }
            }
            var output = new WeightGradOutput { M = (nint)m, MStride = mStride, Gw = (nint)pw, C = g.C };
            Parallelism.For(0, g.K, Math.Max(1, 4096 / Math.Max(1, g.C)), output, static (in WeightGradOutput o, int k0, int k1) =>
            {
                for (int k = k0; k < k1; k++) FilterGradientRow(o, k);
            });
        }
    }

    /// <summary>Inputs of one block's transforms (pointers as nint so that the state can be a generic argument).</summary>
    private struct WeightGradState
    {
        public nint X, Gy, V, Dy;
        public int C, K, H, W, P, Q, Pad, TilesH, TilesW, Ld, T0, Count;
        public nint VStride, DyStride;
    }

    private struct WeightGradOutput
    {
        public nint M, Gw;
        public nint MStride;
        public int C;
    }

    /// <summary>V[ξ][c, j] = (Bᵀ·d·B)[ξ] of the patch of block tile j, for channel <paramref name="c"/>. The tiles go by runs
    /// within one tile row: the four input rows of a run are copied into zero-padded strips, so that every group of eight
    /// tiles is read with plain vector loads whatever the padding or edge.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformInputForWeightGrad(in WeightGradState s, int c)
    {
        int perImage = s.TilesH * s.TilesW, stripLength = 16 * ((s.TilesW + 7) / 8) + 16;
        float* strips = Scratch.Strips(4 * stripLength);
        float* dstRow = (float*)s.V + (nint)c * s.Ld;
        bool avx = Avx2.IsSupported && !PortableTransforms;
        for (int j = 0; j < s.Count;)
        {
            int t = s.T0 + j, image = t / perImage, ty = t % perImage / s.TilesW, tx = t % s.TilesW;
            int run = Math.Min(s.TilesW - tx, s.Count - j), groups = (run + 7) / 8;
            float* plane = (float*)s.X + ((nint)image * s.C + c) * s.H * s.W;
            int used = 16 * groups + 2, left = 2 * tx - s.Pad;
            for (int r = 0; r < 4; r++)
                FillStrip(plane, s.H, s.W, 2 * ty - s.Pad + r, left, used, strips + r * stripLength);
            for (int gi = 0; gi < groups; gi++)
            {
                float* p = strips + 16 * gi;
                StripRow(p, avx, out var t00, out var t01, out var t02, out var t03);
                StripRow(p + stripLength, avx, out var t10, out var t11, out var t12, out var t13);
                StripRow(p + 2 * stripLength, avx, out var t20, out var t21, out var t22, out var t23);
                StripRow(p + 3 * stripLength, avx, out var t30, out var t31, out var t32, out var t33);
                float* dst = dstRow + j + 8 * gi;
                nint matrix = s.VStride;
                // The same combination of rows as the forward input transform (TransformInput).
                (t00 - t20).Store(dst); (t01 - t21).Store(dst + matrix); (t02 - t22).Store(dst + 2 * matrix); (t03 - t23).Store(dst + 3 * matrix);
                (t10 + t20).Store(dst + 4 * matrix); (t11 + t21).Store(dst + 5 * matrix); (t12 + t22).Store(dst + 6 * matrix); (t13 + t23).Store(dst + 7 * matrix);
                (t20 - t10).Store(dst + 8 * matrix); (t21 - t11).Store(dst + 9 * matrix); (t22 - t12).Store(dst + 10 * matrix); (t23 - t13).Store(dst + 11 * matrix);
                (t10 - t30).Store(dst + 12 * matrix); (t11 - t31).Store(dst + 13 * matrix); (t12 - t32).Store(dst + 14 * matrix); (t13 - t33).Store(dst + 15 * matrix);
            }
            // Lanes past the run hold the next columns of the strip; the next run (or the row slack) overwrites them.
            j += run;
        }
    }

    /// <summary>Row of the eight patches at <paramref name="p"/> (columns 2l .. 2l+3 of lane l) times B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StripRow(float* p, bool avx, out Vector256<float> t0, out Vector256<float> t1, out Vector256<float> t2, out Vector256<float> t3)
    {
        Deinterleave(Vector256.Load(p), Vector256.Load(p + 8), out var d0, out var d1, avx);
        Deinterleave(Vector256.Load(p + 2), Vector256.Load(p + 10), out var d2, out var d3, avx);
        t0 = d0 - d2;
        t1 = d1 + d2;
        t2 = d2 - d1;
        t3 = d1 - d3;
    }

    /// <summary>Dy[ξ][k, j] = (A·dy·Aᵀ)[ξ] of the 2x2 output-gradient tile of block tile j, for output channel
    /// <paramref name="k"/>; cells past the output edge are zero. A·dy·Aᵀ maps rows (a, b) to (a, a+b, a−b, −b) and
    /// then does the same to the columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformGradientForWeightGrad(in WeightGradState s, int k)
    {
        int perImage = s.TilesH * s.TilesW, stripLength = 16 * ((s.TilesW + 7) / 8) + 16;
        float* strips = Scratch.Strips(4 * stripLength) + 2 * stripLength;
        float* dstRow = (float*)s.Dy + (nint)k * s.Ld;
        bool avx = Avx2.IsSupported && !PortableTransforms;
        for (int j = 0; j < s.Count;)
        {
            int t = s.T0 + j, image = t / perImage, ty = t % perImage / s.TilesW, tx = t % s.TilesW;
            int run = Math.Min(s.TilesW - tx, s.Count - j), groups = (run + 7) / 8;
            float* plane = (float*)s.Gy + ((nint)image * s.K + k) * s.P * s.Q;
            FillStrip(plane, s.P, s.Q, 2 * ty, 2 * tx, 16 * groups, strips);
            FillStrip(plane, s.P, s.Q, 2 * ty + 1, 2 * tx, 16 * groups, strips + stripLength);
            nint matrix = s.DyStride;
            for (int gi = 0; gi < groups; gi++)
            {
                float* dst = dstRow + j + 8 * gi;
                Deinterleave(Vector256.Load(strips + 16 * gi), Vector256.Load(strips + 16 * gi + 8), out var a0, out var b0, avx);
                Deinterleave(Vector256.Load(strips + stripLength + 16 * gi), Vector256.Load(strips + stripLength + 16 * gi + 8), out var a1, out var b1, avx);
                // Rows of A·dy: (dy0, dy0 + dy1, dy0 − dy1, −dy1), each row (a, b) then → (a, a+b, a−b, −b).
                GradientRow(a0, b0, dst, matrix);
                GradientRow(a0 + a1, b0 + b1, dst + 4 * matrix, matrix);
                GradientRow(a0 - a1, b0 - b1, dst + 8 * matrix, matrix);
                GradientRow(-a1, -b1, dst + 12 * matrix, matrix);
            }
            j += run;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientRow(Vector256<float> a, Vector256<float> b, float* dst, nint matrix)
    {
        a.Store(dst);
        (a + b).Store(dst + matrix);
        (a - b).Store(dst + 2 * matrix);
        (-b).Store(dst + 3 * matrix);
    }

    /// <summary>strip[0..length) = plane row <paramref name="row"/> from column <paramref name="left"/>, zero outside the plane.</summary>
    private static void FillStrip(float* plane, int height, int width, int row, int left, int length, float* strip)
    {
        if ((uint)row >= (uint)height)
        {
            new Span<float>(strip, length).Clear();
            return;
        }
        int lo = Math.Clamp(-left, 0, length), hi = Math.Clamp(width - left, lo, length);
        if (lo > 0) new Span<float>(strip, lo).Clear();
        if (hi > lo) Buffer.MemoryCopy(plane + (nint)row * width + left + lo, strip + lo, (hi - lo) * sizeof(float), (hi - lo) * sizeof(float));
        if (hi < length) new Span<float>(strip + hi, length - hi).Clear();
    }

    /// <summary>gw[k, c, ·, ·] = Gᵀ·M[·][k, c]·G for every c of row <paramref name="k"/>, eight channels at a time;
    /// Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FilterGradientRow(in WeightGradOutput o, int k)
    {
        var lanes = stackalloc float[9 * 8];
        var mv = stackalloc Vector256<float>[16];
        var half = Vector256.Create(0.5f);
        float* mRow = (float*)o.M + (nint)k * o.C;
        float* gwRow = (float*)o.Gw + (nint)k * o.C * 9;
        var tail = stackalloc float[8];
        for (int c0 = 0; c0 < o.C; c0 += 8)
        {
            int valid = Math.Min(8, o.C - c0);
            for (int xi = 0; xi < 16; xi++)
            {
                float* src = mRow + xi * o.MStride + c0;
                if (valid == 8) mv[xi] = Vector256.Load(src);
                else
                {
                    for (int l = 0; l < 8; l++) tail[l] = l < valid ? src[l] : 0f;
                    mv[xi] = Vector256.Load(tail);
                }
            }
            // Columns first: T = Gᵀ·M (3x4), then T·G (3x3).
            for (int r = 0; r < 3; r++)
            {
                var t0 = ReduceColumn(mv[0], mv[4], mv[8], mv[12], r, half);
                var t1 = ReduceColumn(mv[1], mv[5], mv[9], mv[13], r, half);
                var t2 = ReduceColumn(mv[2], mv[6], mv[10], mv[14], r, half);
                var t3 = ReduceColumn(mv[3], mv[7], mv[11], mv[15], r, half);
                var e = t1 + t2;
                (t0 + e * half).Store(lanes + (3 * r) * 8);
                ((t1 - t2) * half).Store(lanes + (3 * r + 1) * 8);
                (e * half + t3).Store(lanes + (3 * r + 2) * 8);
            }
            float* dst = gwRow + (nint)c0 * 9;
            for (int l = 0; l < valid; l++)
            for (int rs = 0; rs < 9; rs++)
                dst[l * 9 + rs] = lanes[rs * 8 + l];
        }
    }

    /// <summary>(Gᵀ·m)[r] for one column m0..m3: r = 0: m0 + ½(m1 + m2); 1: ½(m1 − m2); 2: ½(m1 + m2) + m3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ReduceColumn(Vector256<float> m0, Vector256<float> m1, Vector256<float> m2, Vector256<float> m3, int r, Vector256<float> half) =>
        r switch
        {
            0 => m0 + (m1 + m2) * half,
            1 => (m1 - m2) * half,
            _ => (m1 + m2) * half + m3,
        };
}
