using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
/// The tiles go in fixed blocks (<see cref="WeightGradBlockTiles{TK}"/>, independent of the thread count). Each block's
/// Dy and V are transformed eight channels at a time (split over the threads) and packed straight into the GEMM
/// microkernel's A and B panel layouts, the tiles being the depth; then the microkernel adds the block into M, beta = 1
/// after the first block, the (ξ, row panel) items split over the threads. Every element of M sums the same blocks in
/// the same order whoever computes it, so the gradient is bit-identical for any thread count. The last step maps each
/// 4x4 M[·][k,c] to 3x3 with Gᵀ·M·G.
/// </para>
/// </summary>
internal static unsafe partial class Conv2dWinograd
{
    /// <summary>Whether <see cref="Conv2dKernels.BackwardWeight{T}"/> uses this path (also needs <see cref="Enabled"/>);
    /// environment <c>ASTMT_CONV_WINOGRAD_BW=0</c> turns it off alone, for A/B measurement.</summary>
    internal static bool BackwardWeightEnabled { get; set; } = FromEnvironment("ASTMT_CONV_WINOGRAD_BW");

    /// <summary>Whether backward-weight of <paramref name="g"/> should run here (see <see cref="MinChannels"/>, <see cref="MinTiles"/>).
    /// Batch 2, best of 5 against the implicit GEMM, one thread: 64→64 at 96x128 9.1 → 5.2 ms, 128→128 at 48x64 8.4 → 4.6,
    /// 256→256 at 24x32 8.6 → 5.8, 256→512 at 12x16 4.3 → 3.9 (96 tiles); two threads: 4.8–6.3 → 3.0, 4.8–5.2 → 2.4,
    /// 4.7–5.6 → 2.9, 512→512 at 12x16 4.8–5.8 → 4.2.</summary>
    public static bool UseForBackwardWeight(in Conv2dGeometry g) =>
        Enabled && BackwardWeightEnabled && Supports(g) && g.C >= MinChannels && g.K >= MinChannels && Tiles(g.B, g.P, g.Q) >= MinTiles;

    /// <summary>Tiles per block of the weight gradient, the depth of its products: the GEMM's k block (the A and B panels of
    /// one product stay in L1 and L2), at least 64 and at most 512 tiles.</summary>
    private static int WeightGradBlockTiles<TK>() where TK : struct, IMicrokernel =>
        ForcedBlockTiles is int forced ? RoundUp(forced, 8) : Math.Clamp(GemmBlocking.For<TK>().KC / 8 * 8, 64, 512);

    /// <summary>gw [K,C,3,3] = the weight gradient of the convolution of x [B,C,H,W] giving gy [B,K,P,Q] (overwrites gw).</summary>
    public static void BackwardWeight(in Conv2dGeometry g, float[] x, int xOff, float[] gy, int gyOff, Span<float> gw)
    {
        Check(g, gw.Length, x.Length - xOff, (long)g.B * g.C * g.H * g.W, gy.Length - gyOff, (long)g.B * g.K * g.P * g.Q, "backward-weight");
        if (g.K == 0 || g.C == 0) return;
        if (Tiles(g.B, g.P, g.Q) == 0)
        {
            gw[..(g.K * g.C * 9)].Clear();
            return;
        }
        switch (Gemm.ActiveKernel)
        {
            case GemmKernel.Avx512: BackwardWeight<Microkernel512>(g, x, xOff, gy, gyOff, gw); break;
            case GemmKernel.Avx2: BackwardWeight<Microkernel256>(g, x, xOff, gy, gyOff, gw); break;
            default: BackwardWeight<Microkernel128>(g, x, xOff, gy, gyOff, gw); break;
        }
    }

    private static void BackwardWeight<TK>(in Conv2dGeometry g, float[] x, int xOff, float[] gy, int gyOff, Span<float> gw)
        where TK : struct, IMicrokernel
    {
        int tilesH = (g.P + 1) / 2, tilesW = (g.Q + 1) / 2;
        int tiles = checked((int)Tiles(g.B, g.P, g.Q));
        int blockTiles = Math.Min(WeightGradBlockTiles<TK>(), RoundUp(tiles, 8));
        int kPad = RoundUp(g.K, TK.MR), cPad = RoundUp(g.C, TK.NR);
        // Dy[ξ] is packed as A panels (MR output channels × tiles, k-major), V[ξ] as B panels (tiles × NR channels); each
        // panel holds blockTiles steps, of which a short last block uses the first `count`. Rows and columns past K and C
        // are never written: they only reach rows and columns of M that are dropped.
        nint dyStride = PaddedStride((nint)kPad * blockTiles), vStride = PaddedStride((nint)cPad * blockTiles), mStride = PaddedStride((nint)kPad * cPad);
        float* v = Scratch.WeightGradV(checked((int)(16 * vStride)));
        float* dy = Scratch.WeightGradDy(checked((int)(16 * dyStride)));
        float* m = Scratch.WeightGradM(checked((int)(16 * mStride)));
        fixed (float* px = x)
        fixed (float* pg = gy)
        fixed (float* pw = gw)
        {
            var state = new WeightGradState
            {
                X = (nint)(px + xOff), Gy = (nint)(pg + gyOff), V = (nint)v, Dy = (nint)dy, M = (nint)m,
                C = g.C, K = g.K, H = g.H, W = g.W, P = g.P, Q = g.Q, Pad = g.Padding, TilesH = tilesH, TilesW = tilesW,
                BlockTiles = blockTiles, VStride = vStride, DyStride = dyStride, MStride = mStride, CPad = cPad,
            };
            int inputGroups = (g.C + 7) / 8, units = inputGroups + (g.K + 7) / 8, rowPanels = kPad / TK.MR;
            for (int t0 = 0; t0 < tiles; t0 += blockTiles)
            {
                state.T0 = t0;
                state.Count = Math.Min(blockTiles, tiles - t0);
                state.Beta = t0 == 0 ? 0f : 1f;
                // Eight channels of x (units below inputGroups) or of gy per unit, transformed and packed.
                Parallelism.For(0, units, 1, state, static (in WeightGradState s, int u0, int u1) =>
                {
                    for (int unit = u0; unit < u1; unit++) TransformAndPack<TK>(s, unit);
                });
                // The sixteen products, cut into (ξ, row panel) items: each element of M sums the same tiles in the same
                // order whoever computes it.
                Parallelism.For(0, 16 * rowPanels, 1, state, static (in WeightGradState s, int i0, int i1) =>
                {
                    for (int item = i0; item < i1; item++) MultiplyBlock<TK>(s, item);
                });
            }
            var output = new WeightGradOutput { M = (nint)m, MStride = mStride, Ldm = cPad, Gw = (nint)pw, C = g.C };
            Parallelism.For(0, g.K, Math.Max(1, 4096 / Math.Max(1, g.C)), output, static (in WeightGradOutput o, int k0, int k1) =>
            {
                for (int k = k0; k < k1; k++) FilterGradientRow(o, k);
            });
        }
    }

    /// <summary>Inputs of one block's transforms and products (pointers as nint so that the state can be a generic argument).</summary>
    private struct WeightGradState
    {
        public nint X, Gy, V, Dy, M;
        public int C, K, H, W, P, Q, Pad, TilesH, TilesW, BlockTiles, CPad, T0, Count;
        public nint VStride, DyStride, MStride;
        public float Beta;
    }

    private struct WeightGradOutput
    {
        public nint M, Gw;
        public nint MStride;
        public int Ldm, C;
    }

    /// <summary>Transforms and packs eight channels of the block: unit u below ⌈C/8⌉ is x channels 8u.., the others gy
    /// channels. The channels are the vector lanes: each input row of a run of tiles is copied per channel into a
    /// zero-padded strip and transposed (8x8) to [column][channel], so a tile's transform reads one vector per patch cell
    /// and stores each ξ as the eight contiguous channels of one row of a B panel (NR is a multiple of 8) or, when MR is 8,
    /// of an A panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformAndPack<TK>(in WeightGradState s, int unit) where TK : struct, IMicrokernel
    {
        int inputGroups = (s.C + 7) / 8;
        bool input = unit < inputGroups;
        int c0 = 8 * (input ? unit : unit - inputGroups), lanes = Math.Min(8, (input ? s.C : s.K) - c0);
        // Strips of up to 2·TilesW + 2 columns, rounded up to whole 8-column blocks.
        int stripLength = (2 * s.TilesW + 2 + 7) / 8 * 8;
        float* strips = Scratch.Strips(8 * stripLength);
        float* columns = Scratch.Stage(4 * 8 * stripLength);
        var spill = stackalloc float[16 * 8];
        int perImage = s.TilesH * s.TilesW, rowsPerTile = input ? 4 : 2;
        for (int j = 0; j < s.Count;)
        {
            int t = s.T0 + j, image = t / perImage, ty = t % perImage / s.TilesW, tx = t % s.TilesW;
            int run = Math.Min(s.TilesW - tx, s.Count - j);
            int used = input ? 2 * run + 2 : 2 * run, blocks = (used + 7) / 8;
            for (int r = 0; r < rowsPerTile; r++)
            {
                for (int i = 0; i < 8; i++)
                {
                    float* strip = strips + i * stripLength;
                    if (i >= lanes)
                    {
                        new Span<float>(strip, 8 * blocks).Clear();
                        continue;
                    }
                    if (input)
                        FillStrip((float*)s.X + ((nint)image * s.C + c0 + i) * s.H * s.W, s.H, s.W, 2 * ty - s.Pad + r, 2 * tx - s.Pad, 8 * blocks, strip);
                    else
                        FillStrip((float*)s.Gy + ((nint)image * s.K + c0 + i) * s.P * s.Q, s.P, s.Q, 2 * ty + r, 2 * tx, 8 * blocks, strip);
                }
                float* rowColumns = columns + (nint)r * 8 * stripLength;
                for (int bc = 0; bc < blocks; bc++)
                    TransposeBlock(strips + 8 * bc, stripLength, rowColumns + 64 * bc);
            }
            for (int l = 0; l < run; l++)
            {
                int tile = j + l;
                float* col = columns + 16 * l;
                if (input)
                {
                    nint rowStep = 8 * (nint)stripLength;
                    float* dst = (float*)s.V + (nint)(c0 / TK.NR * TK.NR) * s.BlockTiles + (nint)tile * TK.NR + c0 % TK.NR;
                    InputTransformStore(
                        Vector256.Load(col), Vector256.Load(col + 8), Vector256.Load(col + 16), Vector256.Load(col + 24),
                        Vector256.Load(col + rowStep), Vector256.Load(col + rowStep + 8), Vector256.Load(col + rowStep + 16), Vector256.Load(col + rowStep + 24),
                        Vector256.Load(col + 2 * rowStep), Vector256.Load(col + 2 * rowStep + 8), Vector256.Load(col + 2 * rowStep + 16), Vector256.Load(col + 2 * rowStep + 24),
                        Vector256.Load(col + 3 * rowStep), Vector256.Load(col + 3 * rowStep + 8), Vector256.Load(col + 3 * rowStep + 16), Vector256.Load(col + 3 * rowStep + 24),
                        dst, s.VStride);
                    continue;
                }
                nint next = 8 * (nint)stripLength;
                var a0 = Vector256.Load(col); var b0 = Vector256.Load(col + 8);
                var a1 = Vector256.Load(col + next); var b1 = Vector256.Load(col + next + 8);
                if (TK.MR == 8)
                {
                    float* dst = (float*)s.Dy + (nint)c0 * s.BlockTiles + (nint)tile * 8;
                    GradientTransformStore(a0, b0, a1, b1, dst, s.DyStride);
                    continue;
                }
                // MR 6 or 4: eight channels straddle A panels, so the lanes go one by one.
                GradientTransformStore(a0, b0, a1, b1, spill, 8);
                for (int i = 0; i < lanes; i++)
                {
                    int k = c0 + i;
                    float* dst = (float*)s.Dy + (nint)(k / TK.MR * TK.MR) * s.BlockTiles + (nint)tile * TK.MR + k % TK.MR;
                    for (int xi = 0; xi < 16; xi++) dst[xi * s.DyStride] = spill[8 * xi + i];
                }
            }
            j += run;
        }
    }

    /// <summary>dst[8·column + channel] = strip_channel[column] for eight columns of the eight strips at <paramref name="src"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposeBlock(float* src, int stripLength, float* dst)
    {
        if (Transpose8x8.IsSupported && !PortableTransforms)
        {
            Transpose8x8.Run(src, stripLength, dst, 8);
            return;
        }
        for (int i = 0; i < 8; i++)
        for (int col = 0; col < 8; col++)
            dst[8 * col + i] = src[(nint)i * stripLength + col];
    }

    /// <summary>A·dy·Aᵀ for eight lanes, dy = [a0 b0; a1 b1], ξ at dst + ξ·stride: the rows of A·dy are (dy0, dy0 + dy1,
    /// dy0 − dy1, −dy1), and each row (a, b) then maps to (a, a + b, a − b, −b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientTransformStore(Vector256<float> a0, Vector256<float> b0, Vector256<float> a1, Vector256<float> b1, float* dst, nint stride)
    {
        GradientRow(a0, b0, dst, stride);
        GradientRow(a0 + a1, b0 + b1, dst + 4 * stride, stride);
        GradientRow(a0 - a1, b0 - b1, dst + 8 * stride, stride);
        GradientRow(-a1, -b1, dst + 12 * stride, stride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradientRow(Vector256<float> a, Vector256<float> b, float* dst, nint stride)
    {
        a.Store(dst);
        (a + b).Store(dst + stride);
        (a - b).Store(dst + 2 * stride);
        (-b).Store(dst + 3 * stride);
    }

    /// <summary>M[ξ] rows of row panel <c>item % panels</c> (+)= Dy[ξ] · V[ξ]ᵀ over the block's tiles, ξ = item / panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyBlock<TK>(in WeightGradState s, int item) where TK : struct, IMicrokernel
    {
        int rowPanels = (s.K + TK.MR - 1) / TK.MR, xi = item / rowPanels, panel = item % rowPanels;
        float* a = (float*)s.Dy + xi * s.DyStride + (nint)panel * TK.MR * s.BlockTiles;
        float* b = (float*)s.V + xi * s.VStride;
        float* c = (float*)s.M + xi * s.MStride + (nint)panel * TK.MR * s.CPad;
        for (int col = 0; col < s.CPad; col += TK.NR)
            TK.Run(s.Count, a, b + (nint)col * s.BlockTiles, c + col, s.CPad, 1f, s.Beta);
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
        float* mRow = (float*)o.M + (nint)k * o.Ldm;
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
