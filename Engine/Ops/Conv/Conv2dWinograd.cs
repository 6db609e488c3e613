using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

/// <summary>
/// Float32 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, 2016): each 2x2 output
/// tile is Aᵀ·[U ⊙ V]·A with U = G·g·Gᵀ the 4x4 transform of a 3x3 filter and V = Bᵀ·d·B that of the 4x4 input patch,
/// so the sum over input channels becomes sixteen independent matrix products M[ξ] = U[ξ] [rows × depth] · V[ξ]
/// [depth × tiles], 16 multiply-adds per tile and channel pair instead of 36 (2.25x fewer). The products run on the GEMM
/// microkernels: U is transformed straight into the packed A-panel layout, V straight into packed B panels.
/// <para>
/// Forward: rows = K, depth = C, the image x. Stride-1 backward-data is the forward convolution of gy with the flipped,
/// transposed weights w'[c,k] = rot180(w[k,c]) and padding 2 − padding; since G·rot180(g)·Gᵀ is U with its rows and
/// columns 0 and 3 swapped, w' is never materialised: the same transform of w is stored at the permuted ξ, transposed.
/// </para>
/// <para>
/// Work items are (block of tiles, range of rows): each transforms its block's input for every depth channel into a
/// per-thread buffer, runs the sixteen products over its rows and transforms them back into y. Items are taken from a
/// shared counter in one parallel region. With several blocks, U is transformed once per call before it (a first region);
/// with one block (small maps, deep layers) each item transforms its rows of U on the fly into an L2-resident buffer, so
/// the 16/9-times larger U never goes through memory. The tile blocks, the k blocking of the depth and the arithmetic of each tile
/// do not depend on the thread count or on who takes which item, and an element of a product depends only on its own
/// row and column, so the results are bit-identical for any <c>--threads</c>. The transform constants (0, ±1, ±½) are
/// exact in float32; the rounding error is that of the sums, a small multiple of a direct convolution's.
/// </para>
/// </summary>
internal static unsafe class Conv2dWinograd
{
    /// <summary>Whether the dispatch in <see cref="Conv2dKernels"/> uses this path (environment <c>ASTMT_CONV_WINOGRAD=0</c>
    /// turns it off, for A/B measurement).</summary>
    internal static bool Enabled { get; set; } = FromEnvironment();

    /// <summary>Fewest channels on either side of the product (rows and depth): a thinner GEMM (the 3-channel first layer)
    /// leaves the microkernel mostly idle and is faster as an implicit GEMM over all nine taps.</summary>
    internal static int MinChannels { get; set; } = 16;

    /// <summary>Fewest 2x2 output tiles (over the batch) for the dispatch: U is a 16/9 larger weight tensor transformed on
    /// every call, and the products have at least NR columns, which tiny maps cannot amortise (512x512 channels, batch 2,
    /// one thread: 6x8 maps, 24 tiles, 0.8–0.9x the implicit GEMM's speed; 12x16, 96 tiles, 1.6–1.7x).</summary>
    internal static int MinTiles { get; set; } = 64;

    /// <summary>When set, the input and output transforms use their portable code (no AVX shuffles or masked loads), so
    /// that tests cover it on an AVX machine; the results are the same bits.</summary>
    internal static bool PortableTransforms { get; set; }

    /// <summary>When set, the tiles per block (rounded up to the kernel's NR) instead of the cache-derived size; tests use
    /// it to exercise many blocks on small maps.</summary>
    internal static int? ForcedBlockTiles { get; set; }

    /// <summary>Tiles per block: the transformed input of a block (16 · depth · tiles) and its products stay near L2, where
    /// 256-tile blocks of a 64-channel layer (1 MiB each) spilled; measured best at 64 for 64 and 256 channels (single
    /// thread, 96x128 and 24x32 maps). 512-channel layers take 128, halving the passes over their 16 MiB of U.</summary>
    private static int DefaultBlockTiles(int depth) => depth >= 512 ? 128 : 64;

    /// <summary>Width of the zero-padded strip an edge row of eight tiles is copied into without AVX (18 columns used).</summary>
    private const int StripWidth = 24;

    /// <summary>True for the shapes this path computes: 3x3, stride 1, dilation 1, padding at most 2.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        g.R == 3 && g.S == 3 && g.Stride == 1 && g.Dilation == 1 && g.Padding <= 2 && g.P > 0 && g.Q > 0 && g.H > 0 && g.W > 0;

    /// <summary>Whether the forward pass of <paramref name="g"/> should run here (see <see cref="MinChannels"/>, <see cref="MinTiles"/>).</summary>
    public static bool UseForForward(in Conv2dGeometry g) =>
        Enabled && Supports(g) && g.C >= MinChannels && g.K >= MinChannels && Tiles(g.B, g.P, g.Q) >= MinTiles;

    /// <summary>Whether backward-data of <paramref name="g"/> should run here (its product has C rows and depth K).</summary>
    public static bool UseForBackwardData(in Conv2dGeometry g) =>
        Enabled && Supports(g) && g.C >= MinChannels && g.K >= MinChannels && Tiles(g.B, g.H, g.W) >= MinTiles;

    private static long Tiles(int images, int height, int width) => (long)images * ((height + 1) / 2) * ((width + 1) / 2);

    /// <summary>y [B,K,P,Q] = conv(x [B,C,H,W], w [K,C,3,3]) with the padding of <paramref name="g"/> (no bias).</summary>
    public static void Forward(in Conv2dGeometry g, float[] x, int xOff, ReadOnlySpan<float> weights, float[] y, int yOff)
    {
        Check(g, weights.Length, x.Length - xOff, (long)g.B * g.C * g.H * g.W, y.Length - yOff, (long)g.B * g.K * g.P * g.Q, "forward");
        fixed (float* px = x)
        fixed (float* pw = weights)
        fixed (float* py = y)
        {
            var problem = new Problem
            {
                Images = g.B, InC = g.C, InH = g.H, InW = g.W, Pad = g.Padding, OutC = g.K, OutH = g.P, OutW = g.Q,
                X = px + xOff, Y = py + yOff, W = pw, RowStride = (nint)g.C * 9, DepthStride = 9, Flip = false,
            };
            Run(problem);
        }
    }

    /// <summary>gx [B,C,H,W] = the transpose of the convolution applied to gy [B,K,P,Q] with w [K,C,3,3] (overwrites gx).</summary>
    public static void BackwardData(in Conv2dGeometry g, float[] gy, int gyOff, ReadOnlySpan<float> weights, float[] gx, int gxOff)
    {
        Check(g, weights.Length, gy.Length - gyOff, (long)g.B * g.K * g.P * g.Q, gx.Length - gxOff, (long)g.B * g.C * g.H * g.W, "backward-data");
        fixed (float* pg = gy)
        fixed (float* pw = weights)
        fixed (float* px = gx)
        {
            var problem = new Problem
            {
                Images = g.B, InC = g.K, InH = g.P, InW = g.Q, Pad = 2 - g.Padding, OutC = g.C, OutH = g.H, OutW = g.W,
                X = pg + gyOff, Y = px + gxOff, W = pw, RowStride = 9, DepthStride = (nint)g.C * 9, Flip = true,
            };
            Run(problem);
        }
    }

    private static void Check(in Conv2dGeometry g, int weightLength, long inLength, long inNeeded, long outLength, long outNeeded, string pass)
    {
        if (!Supports(g))
            throw new ArgumentException($"conv2d winograd {pass}: needs a 3x3 kernel, stride 1, dilation 1 and padding at most 2, got " +
                                        $"{g.R}x{g.S}, stride {g.Stride}, dilation {g.Dilation}, padding {g.Padding}.");
        if (weightLength < (long)g.K * g.C * 9 || inLength < inNeeded || outLength < outNeeded)
            throw new ArgumentException($"conv2d winograd {pass}: the buffers (weights {weightLength}, input {inLength}, output {outLength} floats) " +
                                        $"are smaller than [{g.K},{g.C},3,3], {inNeeded} and {outNeeded} floats need.");
    }

    /// <summary>One F(2x2,3x3) convolution: Y [Images, OutC, OutH, OutW] from X [Images, InC, InH, InW], zero padding Pad,
    /// OutH = InH + 2·Pad − 2. The 3x3 filter of product row r and depth d is at W + r·RowStride + d·DepthStride; Flip
    /// stores its transform at the ξ of the 180°-rotated filter.</summary>
    private struct Problem
    {
        public int Images, InC, InH, InW, Pad, OutC, OutH, OutW;
        public float* X, Y, W;
        public nint RowStride, DepthStride;
        public bool Flip;
    }

    private static void Run(in Problem problem)
    {
        if (problem.Images == 0 || problem.OutC == 0) return;
        if (problem.InC == 0)
        {
            new Span<float>(problem.Y, problem.Images * problem.OutC * problem.OutH * problem.OutW).Clear();
            return;
        }
        switch (Gemm.ActiveKernel)
        {
            case GemmKernel.Avx512: Run<Microkernel512>(problem); break;
            case GemmKernel.Avx2: Run<Microkernel256>(problem); break;
            default: Run<Microkernel128>(problem); break;
        }
    }

    private static void Run<TK>(in Problem problem) where TK : struct, IMicrokernel
    {
        int mr = TK.MR, nr = TK.NR;
        int rows = problem.OutC, depth = problem.InC, rowsPad = RoundUp(rows, mr);
        int kBlocks = (depth + GemmBlocking.For<TK>().KC - 1) / GemmBlocking.For<TK>().KC;
        int kcStep = (depth + kBlocks - 1) / kBlocks;
        int tilesH = (problem.OutH + 1) / 2, tilesW = (problem.OutW + 1) / 2;
        int tiles = problem.Images * tilesH * tilesW;
        int blockTiles = RoundUp(Math.Min(ForcedBlockTiles ?? DefaultBlockTiles(depth), 256), nr);
        blockTiles = Math.Min(blockTiles, RoundUp(tiles, nr));
        int blocks = (tiles + blockTiles - 1) / blockTiles;
        int threads = Parallelism.Threads;
        // Few blocks (small maps): also split the rows, so that every thread has items to take; each such item transforms
        // its block's input again, which costs little next to the products when there are many rows.
        int rowTiles = rowsPad / mr;
        int chunks = threads == 1 ? 1 : Math.Clamp((2 * threads + blocks - 1) / blocks, 1, Math.Max(1, rowTiles / 4));
        int chunkRows = (rowTiles + chunks - 1) / chunks * mr;
        chunks = (rowsPad + chunkRows - 1) / chunkRows;

        nint uStride = PaddedStride((nint)rowsPad * depth);
        // U is a packed A operand, so it lives like the GEMM's packing buffers: per calling thread, grown once and kept
        // (a pooled array would be handed back, and its pages possibly released, after every call: 16 MB refaulted per
        // 512-channel layer).
        float* u = blocks == 1 ? null : Scratch.U(checked((int)(16 * uStride)));
        var job = Job<TK>.Cached ??= new Job<TK>();
        job.P = problem;
        job.U = u;
        job.Rows = rows; job.RowsPad = rowsPad; job.Depth = depth; job.KcStep = kcStep;
        job.TilesH = tilesH; job.TilesW = tilesW; job.Tiles = tiles; job.BlockTiles = blockTiles;
        job.Blocks = blocks; job.ChunkRows = chunkRows; job.Chunks = chunks;
        job.UStride = uStride; job.VStride = PaddedStride((nint)depth * blockTiles); job.MStride = PaddedStride((nint)chunkRows * blockTiles);
        job.WeightUnits = (depth + 7) / 8 * ((rowsPad + 7) / 8);
        job.Fused = blocks == 1;
        job.Phase = 0;
        job.Next = 0;
        try
        {
            if (!job.Fused) Parallelism.Run(job, Math.Min(threads, job.WeightUnits));
            job.Phase = 1;
            job.Next = 0;
            Parallelism.Run(job, Math.Min(threads, blocks * chunks));
        }
        finally { job.P = default; job.U = null; }
    }

    /// <summary>Rows of U transformed at a time by the fused path: a multiple of every kernel's MR (8, 6, 4), so groups
    /// start on row panels; 16 · 24 · 256 floats (384 KiB) of A panels stay in L2.</summary>
    private const int FusedRows = 24;

    private static nint FusedStride(int kcStep) => PaddedStride((nint)FusedRows * kcStep);

    /// <summary>A matrix size rounded up to whole cache lines plus one line (see <see cref="Job{TK}.UStride"/>).</summary>
    private static nint PaddedStride(nint floats) => (floats + 15) / 16 * 16 + 16;

    private static int RoundUp(int value, int multiple) => Math.Max(multiple, (value + multiple - 1) / multiple * multiple);

    /// <summary>The two parallel regions of one call, both taking units from a shared counter: the weight transform (U is
    /// read by every item, so it completes first), then the (block, rows) items.</summary>
    private sealed class Job<TK> : IParallelWork where TK : struct, IMicrokernel
    {
        [ThreadStatic] public static Job<TK>? Cached;
        public Problem P;
        public float* U;
        public int Rows, RowsPad, Depth, KcStep, TilesH, TilesW, Tiles, BlockTiles, Blocks, ChunkRows, Chunks, WeightUnits;
        /// <summary>0: the weight transform (units of 8 rows × 8 depth channels); 1: the (block, rows) items.</summary>
        public int Phase;
        /// <summary>U is transformed inside the items (<see cref="MultiplyFused"/>) rather than in phase 0: one block of
        /// tiles, so each row of U is used by one item only.</summary>
        public bool Fused;
        /// <summary>Floats from one ξ's matrix to the next in U, V and M: padded by one cache line, because sixteen streams a
        /// power of two apart would all map to the same cache sets (12 ways in L1) and evict each other.</summary>
        public nint UStride, VStride, MStride;
        public int Next;

        public void Execute(int part, int parts)
        {
            if (Phase == 0)
            {
                int groupsPerRow = (Depth + 7) / 8;
                var layout = new PanelLayout
                {
                    Base = U, XiStride = UStride, RowLimit = RowsPad, DepthLimit = Depth, Global = true, KcStep = KcStep, Depth = Depth, RowsPad = RowsPad,
                };
                for (int unit = Interlocked.Increment(ref Next) - 1; unit < WeightUnits; unit = Interlocked.Increment(ref Next) - 1)
                    TransformWeights(unit / groupsPerRow * 8, unit % groupsPerRow * 8, layout);
                return;
            }
            float* v = Scratch.V(checked((int)(16 * VStride)));
            float* m = Scratch.M(checked((int)(16 * MStride)));
            int items = Blocks * Chunks;
            for (int item = Interlocked.Increment(ref Next) - 1; item < items; item = Interlocked.Increment(ref Next) - 1)
            {
                int block = item / Chunks, chunk = item % Chunks;
                int t0 = block * BlockTiles, count = Math.Min(BlockTiles, Tiles - t0);
                int r0 = chunk * ChunkRows, r1 = Math.Min(RowsPad, r0 + ChunkRows);
                TransformInput(t0, count, v);
                if (Fused) MultiplyFused(count, r0, r1, v, m);
                else Multiply(count, r0, r1, v, m);
                TransformOutput(t0, count, r0, Math.Min(Rows, r1), m);
            }
        }

        /// <summary>U[ξ] for product rows [r0, min(r0+8, L.RowLimit)) and depth channels [d0, min(d0+8, L.DepthLimit)), stored
        /// into packed A panels as <paramref name="L"/> lays them out. In both passes the eight filters w[k, c..c+8) are 72
        /// contiguous floats, which an 8x8 transpose turns into one vector per tap with the eight channels c in the lanes:
        /// in backward-data c is the row, so each ξ is one store into the panel; in the forward pass c is the depth, so
        /// eight rows are transformed into a small tile first and each ξ is transposed into the panel. Rows past the
        /// product (up to the panel edge) are zeros.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformWeights(int r0, int d0, in PanelLayout L)
        {
            var g = stackalloc Vector256<float>[9];
            var u = stackalloc Vector256<float>[16];
            var taps = stackalloc float[64];
            int rows = Math.Min(8, L.RowLimit - r0), depthLanes = Math.Min(8, L.DepthLimit - d0);
            if (P.Flip)
            {
                int lanes = Math.Min(8, Rows - r0);
                for (int d = d0; d < d0 + depthLanes; d++)
                {
                    LoadTaps(P.W + d * P.DepthStride + r0 * P.RowStride, lanes, taps, g);
                    FilterTransform(g, u);
                    for (int xi = 0; xi < 16; xi++)
                    {
                        int dst = Flipped(xi);
                        if (TK.MR == 8 && rows == 8) u[xi].Store(L.Base + L.Offset(dst, r0, d));
                        else for (int l = 0; l < rows; l++) L.Base[L.Offset(dst, r0 + l, d)] = u[xi].GetElement(l);
                    }
                }
                return;
            }
            var tile = stackalloc float[16 * 64];
            for (int i = 0; i < 8; i++)
            {
                if (r0 + i >= Rows)
                {
                    for (int xi = 0; xi < 16; xi++) Vector256<float>.Zero.Store(tile + xi * 64 + i * 8);
                    continue;
                }
                LoadTaps(P.W + (r0 + i) * P.RowStride + d0 * P.DepthStride, depthLanes, taps, g);
                FilterTransform(g, u);
                for (int xi = 0; xi < 16; xi++) u[xi].Store(tile + xi * 64 + i * 8);
            }
            int p0 = d0 / KcStep * KcStep;
            bool whole = TK.MR == 8 && rows == 8 && depthLanes == 8 && d0 + 8 <= p0 + KcStep && Transpose8x8.IsSupported;
            for (int xi = 0; xi < 16; xi++)
            {
                float* src = tile + xi * 64;
                if (whole)
                {
                    // tile[i·8 + l] (row r0+i, depth d0+l) → panel[(d0+l−p0)·8 + i]
                    Transpose8x8.Run(src, 8, L.Base + L.Offset(xi, r0, d0), 8);
                    continue;
                }
                for (int l = 0; l < depthLanes; l++)
                for (int i = 0; i < rows; i++)
                    L.Base[L.Offset(xi, r0 + i, d0 + l)] = src[i * 8 + l];
            }
        }

        /// <summary>Where the packed A panels of U[ξ] live: the whole of U (<see cref="Global"/>, every k block, rows from 0)
        /// or, for the fused path, one k block of one group of rows from <see cref="RowBase"/>.</summary>
        private readonly struct PanelLayout
        {
            public float* Base { get; init; }
            public nint XiStride { get; init; }
            public int RowBase { get; init; }
            public int RowLimit { get; init; }
            public int DepthLimit { get; init; }
            public bool Global { get; init; }
            public int KcStep { get; init; }
            public int Depth { get; init; }
            public int RowsPad { get; init; }

            /// <summary>Offset of U[ξ] (row r, depth d): k block p0 of d, row panel of r, MR rows per k step.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public nint Offset(int xi, int r, int d)
            {
                int p0 = d / KcStep * KcStep, kc = Math.Min(KcStep, Depth - p0), rr = r - RowBase;
                return xi * XiStride + (Global ? (nint)p0 * RowsPad : 0) + (nint)(rr / TK.MR * TK.MR) * kc + (nint)(d - p0) * TK.MR + rr % TK.MR;
            }
        }

        /// <summary>V[ξ] of tiles [t0, t0+count) for every depth channel, stored as packed B panels: block-local tile j of
        /// channel d at ξ·VStride + p0·BlockTiles + (j/NR)·NR·kc + (d−p0)·NR + j%NR (p0 the start of d's k block). Channels
        /// are the outer loop, so the groups of one channel fill whole cache lines of the panels in order and read the
        /// image row by row (groups outer left each line half-written until the next group, long after its eviction).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int t0, int count, float* v)
        {
            int nr = TK.NR, groups = (count + 7) / 8;
            nint matrix = VStride, plane = (nint)P.InH * P.InW;
            var strip = stackalloc float[StripWidth];
            var lanes = stackalloc float[16 * 8];
            var group = stackalloc Group[groups];
            var masks = stackalloc Vector256<float>[8 * groups];
            bool avx = Avx.IsSupported && !PortableTransforms;
            for (int gi = 0; gi < groups; gi++) group[gi] = Describe(t0 + 8 * gi, P.InW, P.Pad, avx, masks + 8 * gi);
            for (int c = 0; c < Depth; c++)
            {
                int p0 = c / KcStep * KcStep, kc = Math.Min(KcStep, Depth - p0);
                float* channelDst = v + (nint)p0 * BlockTiles + (nint)(c - p0) * nr;
                for (int gi = 0; gi < groups; gi++)
                {
                    ref readonly var gr = ref group[gi];
                    int j = 8 * gi;
                    float* x = P.X + ((nint)gr.Image * Depth + c) * plane;
                    float* dst = channelDst + (nint)(j / nr * nr) * kc + j % nr;
                    if (gr.Mode == GroupMode.Scattered)
                    {
                        GatherPatches(t0 + j, Math.Min(8, Tiles - t0 - j), c, lanes);
                        InputTransformStore(
                            Vector256.Load(lanes), Vector256.Load(lanes + 8), Vector256.Load(lanes + 16), Vector256.Load(lanes + 24),
                            Vector256.Load(lanes + 32), Vector256.Load(lanes + 40), Vector256.Load(lanes + 48), Vector256.Load(lanes + 56),
                            Vector256.Load(lanes + 64), Vector256.Load(lanes + 72), Vector256.Load(lanes + 80), Vector256.Load(lanes + 88),
                            Vector256.Load(lanes + 96), Vector256.Load(lanes + 104), Vector256.Load(lanes + 112), Vector256.Load(lanes + 120),
                            dst, matrix);
                        continue;
                    }
                    // Bᵀ·d·B = (Bᵀ·(d·B)): each patch row is transformed as it is loaded, then the rows are combined.
                    var mask = masks + 8 * gi;
                    PatchRow(gr, x, 0, mask, strip, avx, out var t00, out var t01, out var t02, out var t03);
                    PatchRow(gr, x, 1, mask, strip, avx, out var t10, out var t11, out var t12, out var t13);
                    PatchRow(gr, x, 2, mask, strip, avx, out var t20, out var t21, out var t22, out var t23);
                    PatchRow(gr, x, 3, mask, strip, avx, out var t30, out var t31, out var t32, out var t33);
                    (t00 - t20).Store(dst); (t01 - t21).Store(dst + matrix); (t02 - t22).Store(dst + 2 * matrix); (t03 - t23).Store(dst + 3 * matrix);
                    (t10 + t20).Store(dst + 4 * matrix); (t11 + t21).Store(dst + 5 * matrix); (t12 + t22).Store(dst + 6 * matrix); (t13 + t23).Store(dst + 7 * matrix);
                    (t20 - t10).Store(dst + 8 * matrix); (t21 - t11).Store(dst + 9 * matrix); (t22 - t12).Store(dst + 10 * matrix); (t23 - t13).Store(dst + 11 * matrix);
                    (t10 - t30).Store(dst + 12 * matrix); (t11 - t31).Store(dst + 13 * matrix); (t12 - t32).Store(dst + 14 * matrix); (t13 - t33).Store(dst + 15 * matrix);
                }
            }
        }

        /// <summary>Row <paramref name="r"/> of the eight patches of a one-row group times B: with d0..d3 the patch columns
        /// (even and odd input columns from Left and Left + 2), t = (d0 − d2, d1 + d2, d2 − d1, d1 − d3). Rows outside the
        /// input are zero.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void PatchRow(in Group gr, float* x, int r, Vector256<float>* mask, float* strip, bool avx,
            out Vector256<float> t0, out Vector256<float> t1, out Vector256<float> t2, out Vector256<float> t3)
        {
            Vector256<float> a, b, a2, b2;
            int row = gr.Top + r;
            if (gr.Mode == GroupMode.Split)
            {
                a = b = a2 = b2 = Vector256<float>.Zero;
                if ((uint)row < (uint)P.InH)
                {
                    float* pa = x + (nint)row * P.InW + gr.Left;
                    a = Avx.MaskLoad(pa, mask[0]); b = Avx.MaskLoad(pa + 8, mask[1]);
                    a2 = Avx.MaskLoad(pa + 2, mask[2]); b2 = Avx.MaskLoad(pa + 10, mask[3]);
                }
                int rowB = gr.TopB + r;
                if ((uint)rowB < (uint)P.InH)
                {
                    // The lanes of the two rows are disjoint and masked-off lanes load +0 (all bits clear): OR merges exactly.
                    float* pb = x + ((nint)(gr.ImageB - gr.Image) * Depth * P.InH + rowB) * P.InW + gr.LeftB;
                    a |= Avx.MaskLoad(pb, mask[4]); b |= Avx.MaskLoad(pb + 8, mask[5]);
                    a2 |= Avx.MaskLoad(pb + 2, mask[6]); b2 |= Avx.MaskLoad(pb + 10, mask[7]);
                }
            }
            else
            {
                if ((uint)row >= (uint)P.InH)
                {
                    t0 = t1 = t2 = t3 = Vector256<float>.Zero;
                    return;
                }
                float* p = x + (nint)row * P.InW + gr.Left;
                if (gr.Mode == GroupMode.Inside)
                {
                    a = Vector256.Load(p); b = Vector256.Load(p + 8); a2 = Vector256.Load(p + 2); b2 = Vector256.Load(p + 10);
                }
                else if (gr.Mode == GroupMode.Masked)
                {
                    a = Avx.MaskLoad(p, mask[0]); b = Avx.MaskLoad(p + 8, mask[1]);
                    a2 = Avx.MaskLoad(p + 2, mask[2]); b2 = Avx.MaskLoad(p + 10, mask[3]);
                }
                else
                {
                    float* q = CopyStrip(x + (nint)row * P.InW, P.InW, gr.Left, strip);
                    a = Vector256.Load(q); b = Vector256.Load(q + 8); a2 = Vector256.Load(q + 2); b2 = Vector256.Load(q + 10);
                }
            }
            Deinterleave(a, b, out var d0, out var d1, avx);
            Deinterleave(a2, b2, out var d2, out var d3, avx);
            t0 = d0 - d2;
            t1 = d1 + d2;
            t2 = d2 - d1;
            t3 = d1 - d3;
        }

        /// <summary>Where the eight tiles from <paramref name="t"/> lie and how their 4x4 patches (top-left at row Top, column
        /// Left of the input, for padding <paramref name="pad"/>) are read; the masks of a masked group go to <paramref name="masks"/>.</summary>
        private Group Describe(int t, int inW, int pad, bool avx, Vector256<float>* masks)
        {
            int perImage = TilesH * TilesW, image = t / perImage, ty = t % perImage / TilesW, tx = t % TilesW;
            var gr = new Group { Image = image, Ty = ty, Tx = tx, Top = 2 * ty - pad, Left = 2 * tx - pad };
            int split = TilesW - tx;
            if (split < 8)
            {
                // The group ends a tile row: its first `split` lanes are in this row, the others start the next row (of
                // this image or the next one). With AVX both rows are read with masked loads whose lanes do not overlap;
                // a group spanning three rows, or without AVX, goes tile by tile.
                gr.Mode = GroupMode.Scattered;
                if (!avx || 8 - split > TilesW) return gr;
                gr.Mode = GroupMode.Split;
                int next = t + split, imageB = next / perImage, tyB = next % perImage / TilesW;
                gr.ImageB = imageB;
                gr.TopB = 2 * tyB - pad;
                gr.LeftB = -2 * split - pad;
                int validLanes = Math.Min(8, Tiles - t);
                ColumnMasks(gr.Left, inW, 0, Math.Min(split, validLanes), masks);
                ColumnMasks(gr.LeftB, inW, split, validLanes, masks + 4);
                return gr;
            }
            if (gr.Left >= 0 && gr.Left + 18 <= inW) gr.Mode = GroupMode.Inside;
            else if (avx)
            {
                // At the left and right edges the row loads are masked: lanes outside [0, inW) read as zero and are not
                // accessed, so reading before the row or past the array cannot fault.
                gr.Mode = GroupMode.Masked;
                ColumnMasks(gr.Left, inW, 0, Math.Min(8, Tiles - t), masks);
            }
            else gr.Mode = GroupMode.Strip;
            return gr;
        }

        /// <summary>Masks of the four raw row loads at left, left + 8, left + 2, left + 10 (element i of a load belongs to lane
        /// i/2 of its half): set where the column lies in [0, inW) and the lane in [laneLo, laneHi).</summary>
        private static void ColumnMasks(int left, int inW, int laneLo, int laneHi, Vector256<float>* masks)
        {
            var iota = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
            var width = Vector256.Create(inW);
            for (int k = 0; k < 4; k++)
            {
                int offset = (k & 1) * 8 + (k >> 1) * 2;
                var column = iota + Vector256.Create(left + offset);
                var lane = (iota + Vector256.Create((k & 1) * 8)) >> 1;
                var inside = Vector256.GreaterThanOrEqual(column, Vector256<int>.Zero) & Vector256.LessThan(column, width)
                             & Vector256.GreaterThanOrEqual(lane, Vector256.Create(laneLo)) & Vector256.LessThan(lane, Vector256.Create(laneHi));
                masks[k] = inside.AsSingle();
            }
        }

        /// <summary>The 4x4 input patches of up to eight tiles starting at tile <paramref name="t"/> (crossing tile rows or
        /// images), element e of lane l at lanes[8·e + l]; zeros outside the image and for missing lanes.</summary>
        private void GatherPatches(int t, int valid, int c, float* lanes)
        {
            int perImage = TilesH * TilesW;
            for (int l = 0; l < 8; l++)
            {
                if (l >= valid)
                {
                    for (int e = 0; e < 16; e++) lanes[8 * e + l] = 0f;
                    continue;
                }
                int tile = t + l, image = tile / perImage, ty = tile % perImage / TilesW, tx = tile % TilesW;
                float* x = P.X + ((nint)image * Depth + c) * P.InH * P.InW;
                for (int r = 0; r < 4; r++)
                {
                    int row = 2 * ty - P.Pad + r;
                    for (int s = 0; s < 4; s++)
                    {
                        int col = 2 * tx - P.Pad + s;
                        lanes[8 * (4 * r + s) + l] = row >= 0 && row < P.InH && col >= 0 && col < P.InW ? x[(nint)row * P.InW + col] : 0f;
                    }
                }
            }
        }

        /// <summary>M[ξ] rows [r0, r1) × the block's tiles = U[ξ] · V[ξ], summed over the depth in fixed k blocks; M[ξ] is
        /// [r1−r0, BlockTiles] at m + ξ·ChunkRows·BlockTiles.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Multiply(int count, int r0, int r1, float* v, float* m)
        {
            int mr = TK.MR, nr = TK.NR, panels = (count + nr - 1) / nr;
            nint uMatrix = UStride, vMatrix = VStride, mMatrix = MStride;
            for (int xi = 0; xi < 16; xi++)
            {
                for (int p0 = 0; p0 < Depth; p0 += KcStep)
                {
                    int kc = Math.Min(KcStep, Depth - p0);
                    float beta = p0 == 0 ? 0f : 1f;
                    float* ua = U + xi * uMatrix + (nint)p0 * RowsPad;
                    float* vb = v + xi * vMatrix + (nint)p0 * BlockTiles;
                    float* mc = m + xi * mMatrix;
                    for (int r = r0; r < r1; r += mr)
                    for (int panel = 0; panel < panels; panel++)
                        TK.Run(kc, ua + (nint)r * kc, vb + (nint)panel * nr * kc, mc + (nint)(r - r0) * BlockTiles + panel * nr, BlockTiles, 1f, beta);
                }
            }
        }

        /// <summary>As <see cref="Multiply"/> with U transformed on the fly: for each group of <see cref="FusedRows"/> rows
        /// and k block, the sixteen A panels go into a per-thread buffer that stays in L2 while the sixteen products use
        /// them, so U never goes through memory (16 MB written and read again per 512-channel layer). Each element of M
        /// sums the same k blocks in the same order as in <see cref="Multiply"/>, with the same U: the same bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void MultiplyFused(int count, int r0, int r1, float* v, float* m)
        {
            int mr = TK.MR, nr = TK.NR, panels = (count + nr - 1) / nr;
            nint lStride = FusedStride(KcStep);
            float* local = Scratch.A(checked((int)(16 * lStride)));
            for (int g0 = r0; g0 < r1; g0 += FusedRows)
            {
                int g1 = Math.Min(r1, g0 + FusedRows);
                for (int p0 = 0; p0 < Depth; p0 += KcStep)
                {
                    int kc = Math.Min(KcStep, Depth - p0);
                    var layout = new PanelLayout
                    {
                        Base = local, XiStride = lStride, RowBase = g0, RowLimit = g1, DepthLimit = p0 + kc, Global = false,
                        KcStep = KcStep, Depth = Depth, RowsPad = RowsPad,
                    };
                    for (int r = g0; r < g1; r += 8)
                    for (int d = p0; d < p0 + kc; d += 8)
                        TransformWeights(r, d, layout);
                    float beta = p0 == 0 ? 0f : 1f;
                    for (int xi = 0; xi < 16; xi++)
                    {
                        float* vb = v + xi * VStride + (nint)p0 * BlockTiles;
                        float* mc = m + xi * MStride;
                        for (int r = g0; r < g1; r += mr)
                        for (int panel = 0; panel < panels; panel++)
                            TK.Run(kc, local + xi * lStride + (nint)(r - g0) * kc, vb + (nint)panel * nr * kc, mc + (nint)(r - r0) * BlockTiles + panel * nr, BlockTiles, 1f, beta);
                    }
                }
            }
        }

        /// <summary>Y rows [r0, r1) of tiles [t0, t0+count) = Aᵀ·M·A per tile; a tile's cells past the output edge are dropped.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformOutput(int t0, int count, int r0, int r1, float* m)
        {
            int perImage = TilesH * TilesW, groups = (count + 7) / 8;
            nint mMatrix = MStride, outPlane = (nint)P.OutH * P.OutW;
            var spill = stackalloc float[4 * 8];
            var group = stackalloc Group[groups];
            bool avx = Avx.IsSupported && !PortableTransforms;
            for (int gi = 0; gi < groups; gi++)
            {
                int t = t0 + 8 * gi, tx = t % TilesW, ty = t % perImage / TilesW;
                group[gi] = new Group
                {
                    Image = t / perImage, Ty = ty, Tx = tx,
                    Mode = count - 8 * gi >= 8 && tx + 8 <= TilesW && 2 * (tx + 8) <= P.OutW && 2 * ty + 2 <= P.OutH ? GroupMode.Inside : GroupMode.Scattered,
                };
            }
            // Rows outer: the products of one row are read in order and its output plane is written in order.
            for (int r = r0; r < r1; r++)
            {
                float* src = m + (nint)(r - r0) * BlockTiles;
                for (int gi = 0; gi < groups; gi++)
                {
                    ref readonly var gr = ref group[gi];
                    OutputTransform(src + 8 * gi, mMatrix, out var y00, out var y01, out var y10, out var y11);
                    if (gr.Mode == GroupMode.Inside)
                    {
                        float* y = P.Y + ((nint)gr.Image * P.OutC + r) * outPlane + (nint)(2 * gr.Ty) * P.OutW + 2 * gr.Tx;
                        StoreInterleaved(y, y00, y01, avx);
                        StoreInterleaved(y + P.OutW, y10, y11, avx);
                        continue;
                    }
                    y00.Store(spill); y01.Store(spill + 8); y10.Store(spill + 16); y11.Store(spill + 24);
                    int t = t0 + 8 * gi, valid = Math.Min(8, count - 8 * gi);
                    for (int l = 0; l < valid; l++)
                    {
                        int tile = t + l, im = tile / perImage, py = 2 * (tile % perImage / TilesW), px = 2 * (tile % TilesW);
                        float* y = P.Y + ((nint)im * P.OutC + r) * outPlane;
                        y[(nint)py * P.OutW + px] = spill[l];
                        if (px + 1 < P.OutW) y[(nint)py * P.OutW + px + 1] = spill[8 + l];
                        if (py + 1 < P.OutH)
                        {
                            y[(nint)(py + 1) * P.OutW + px] = spill[16 + l];
                            if (px + 1 < P.OutW) y[(nint)(py + 1) * P.OutW + px + 1] = spill[24 + l];
                        }
                    }
                }
            }
        }
    }

    /// <summary>How a group of eight consecutive tiles is read or written.</summary>
    private enum GroupMode : byte
    {
        /// <summary>One tile row, every patch (or output cell) inside the image: plain vector loads (stores).</summary>
        Inside,
        /// <summary>One tile row at the left or right edge: masked loads.</summary>
        Masked,
        /// <summary>One tile row at an edge without AVX: the row is copied into a zero-padded strip.</summary>
        Strip,
        /// <summary>The end of one tile row and the start of the next (two rows): masked loads from both.</summary>
        Split,
        /// <summary>Across tile rows or images, or partial: tile by tile.</summary>
        Scattered,
    }

    /// <summary>The position of a group of eight tiles (first tile) and how it is accessed.</summary>
    private struct Group
    {
        public int Image, Ty, Tx, Top, Left;
        /// <summary>For <see cref="GroupMode.Split"/>: the image and patch origin of the next tile row (tile 0 at lane split).</summary>
        public int ImageB, TopB, LeftB;
        public GroupMode Mode;
    }

    /// <summary>g[t] = tap t of the eight filters at src, src + 9, … (lanes past <paramref name="lanes"/> are zeros).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadTaps(float* src, int lanes, float* scratch, Vector256<float>* g)
    {
        if (lanes == 8 && Transpose8x8.IsSupported)
        {
            Transpose8x8.Run(src, 9, scratch, 8);
            for (int t = 0; t < 8; t++) g[t] = Vector256.Load(scratch + 8 * t);
            g[8] = Vector256.Create(src[8], src[17], src[26], src[35], src[44], src[53], src[62], src[71]);
            return;
        }
        for (int t = 0; t < 9; t++)
        {
            for (int l = 0; l < 8; l++) scratch[l] = l < lanes ? src[9 * l + t] : 0f;
            g[t] = Vector256.Load(scratch);
        }
    }

    /// <summary>The ξ at which the transform of the 180°-rotated filter holds U[ξ]: rows and columns 0 and 3 swapped
    /// (G·J₃ = P·G with J₃ the 3x3 reversal and P the swap of rows 0 and 3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Flipped(int xi)
    {
        int i = xi >> 2, j = xi & 3;
        i = i is 0 or 3 ? 3 - i : i;
        j = j is 0 or 3 ? 3 - j : j;
        return 4 * i + j;
    }

    /// <summary>U = G·g·Gᵀ for eight filters at once, g[3r+s] → u[4i+j]; G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FilterTransform(Vector256<float>* g, Vector256<float>* u)
    {
        var half = Vector256.Create(0.5f);
        // Columns: a = G·g (4x3), one column s at a time.
        var e0 = g[0] + g[6]; var e1 = g[1] + g[7]; var e2 = g[2] + g[8];
        var a10 = (e0 + g[3]) * half; var a11 = (e1 + g[4]) * half; var a12 = (e2 + g[5]) * half;
        var a20 = (e0 - g[3]) * half; var a21 = (e1 - g[4]) * half; var a22 = (e2 - g[5]) * half;
        FilterRow(g[0], g[1], g[2], half, u);
        FilterRow(a10, a11, a12, half, u + 4);
        FilterRow(a20, a21, a22, half, u + 8);
        FilterRow(g[6], g[7], g[8], half, u + 12);
    }

    /// <summary>One row of (G·g)·Gᵀ: [a0, ½(a0+a1+a2), ½(a0−a1+a2), a2].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FilterRow(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> half, Vector256<float>* u)
    {
        var e = a0 + a2;
        u[0] = a0;
        u[1] = (e + a1) * half;
        u[2] = (e - a1) * half;
        u[3] = a2;
    }

    /// <summary>V = Bᵀ·d·B for eight patches given as d[r][c], V[ξ] stored at dst + ξ·stride; Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].
    /// The same operations, in the same order, as the row-wise path (<see cref="Job{TK}.PatchRow"/> and its combination).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputTransformStore(
        Vector256<float> d00, Vector256<float> d01, Vector256<float> d02, Vector256<float> d03,
        Vector256<float> d10, Vector256<float> d11, Vector256<float> d12, Vector256<float> d13,
        Vector256<float> d20, Vector256<float> d21, Vector256<float> d22, Vector256<float> d23,
        Vector256<float> d30, Vector256<float> d31, Vector256<float> d32, Vector256<float> d33, float* dst, nint stride)
    {
        var t00 = d00 - d02; var t01 = d01 + d02; var t02 = d02 - d01; var t03 = d01 - d03;
        var t10 = d10 - d12; var t11 = d11 + d12; var t12 = d12 - d11; var t13 = d11 - d13;
        var t20 = d20 - d22; var t21 = d21 + d22; var t22 = d22 - d21; var t23 = d21 - d23;
        var t30 = d30 - d32; var t31 = d31 + d32; var t32 = d32 - d31; var t33 = d31 - d33;
        (t00 - t20).Store(dst); (t01 - t21).Store(dst + stride); (t02 - t22).Store(dst + 2 * stride); (t03 - t23).Store(dst + 3 * stride);
        (t10 + t20).Store(dst + 4 * stride); (t11 + t21).Store(dst + 5 * stride); (t12 + t22).Store(dst + 6 * stride); (t13 + t23).Store(dst + 7 * stride);
        (t20 - t10).Store(dst + 8 * stride); (t21 - t11).Store(dst + 9 * stride); (t22 - t12).Store(dst + 10 * stride); (t23 - t13).Store(dst + 11 * stride);
        (t10 - t30).Store(dst + 12 * stride); (t11 - t31).Store(dst + 13 * stride); (t12 - t32).Store(dst + 14 * stride); (t13 - t33).Store(dst + 15 * stride);
    }

    /// <summary>Y = Aᵀ·m·A for eight tiles, m[4i+j] at src + (4i+j)·stride; Aᵀ = [1 1 1 0; 0 1 −1 −1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputTransform(float* src, nint stride, out Vector256<float> y00, out Vector256<float> y01, out Vector256<float> y10, out Vector256<float> y11)
    {
        var m4 = Vector256.Load(src + 4 * stride); var m5 = Vector256.Load(src + 5 * stride);
        var m6 = Vector256.Load(src + 6 * stride); var m7 = Vector256.Load(src + 7 * stride);
        var m8 = Vector256.Load(src + 8 * stride); var m9 = Vector256.Load(src + 9 * stride);
        var m10 = Vector256.Load(src + 10 * stride); var m11 = Vector256.Load(src + 11 * stride);
        var s00 = Vector256.Load(src) + m4 + m8; var s01 = Vector256.Load(src + stride) + m5 + m9;
        var s02 = Vector256.Load(src + 2 * stride) + m6 + m10; var s03 = Vector256.Load(src + 3 * stride) + m7 + m11;
        var s10 = m4 - m8 - Vector256.Load(src + 12 * stride); var s11 = m5 - m9 - Vector256.Load(src + 13 * stride);
        var s12 = m6 - m10 - Vector256.Load(src + 14 * stride); var s13 = m7 - m11 - Vector256.Load(src + 15 * stride);
        y00 = s00 + s01 + s02;
        y01 = s01 - s02 - s03;
        y10 = s10 + s11 + s12;
        y11 = s11 - s12 - s13;
    }

    /// <summary>even = the even elements of the sixteen a, b (a0, a2, …, b6); odd = the odd ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave(Vector256<float> a, Vector256<float> b, out Vector256<float> even, out Vector256<float> odd, bool avx)
    {
        if (avx && Avx2.IsSupported)
        {
            // [a0 a2 b0 b2 | a4 a6 b4 b6] → 64-bit lanes reordered 0 2 1 3 → [a0 a2 a4 a6 b0 b2 b4 b6]
            even = Avx2.Permute4x64(Avx.Shuffle(a, b, 0x88).AsDouble(), 0xD8).AsSingle();
            odd = Avx2.Permute4x64(Avx.Shuffle(a, b, 0xDD).AsDouble(), 0xD8).AsSingle();
            return;
        }
        even = Vector256.Create(a[0], a[2], a[4], a[6], b[0], b[2], b[4], b[6]);
        odd = Vector256.Create(a[1], a[3], a[5], a[7], b[1], b[3], b[5], b[7]);
    }

    /// <summary>p[0..16) = a0 b0 a1 b1 … a7 b7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInterleaved(float* p, Vector256<float> a, Vector256<float> b, bool avx)
    {
        if (avx && Avx2.IsSupported)
        {
            var lo = Avx.UnpackLow(a, b);   // a0 b0 a1 b1 | a4 b4 a5 b5
            var hi = Avx.UnpackHigh(a, b);  // a2 b2 a3 b3 | a6 b6 a7 b7
            Avx.Permute2x128(lo, hi, 0x20).Store(p);
            Avx.Permute2x128(lo, hi, 0x31).Store(p + 8);
            return;
        }
        for (int i = 0; i < 8; i++)
        {
            p[2 * i] = a.GetElement(i);
            p[2 * i + 1] = b.GetElement(i);
        }
    }

    /// <summary>strip[0..18) = row[left .. left+18) with zeros outside [0, width); returns strip.</summary>
    private static float* CopyStrip(float* row, int width, int left, float* strip)
    {
        int lo = Math.Max(0, -left), hi = Math.Clamp(width - left, 0, 18);
        for (int i = 0; i < lo && i < 18; i++) strip[i] = 0f;
        if (hi > lo) Buffer.MemoryCopy(row + left + lo, strip + lo, (hi - lo) * sizeof(float), (hi - lo) * sizeof(float));
        for (int i = Math.Max(hi, lo); i < 18; i++) strip[i] = 0f;
        return strip;
    }

    private static bool FromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable("ASTMT_CONV_WINOGRAD");
        if (string.IsNullOrWhiteSpace(text)) return true;
        return text.Trim() switch
        {
            "1" or "on" or "true" => true,
            "0" or "off" or "false" => false,
            _ => throw new InvalidOperationException($"ASTMT_CONV_WINOGRAD must be 0 or 1 (or on/off, true/false), got '{text}'."),
        };
    }

    /// <summary>Per-thread transformed weight (calling thread), input and product buffers: pinned, 64-byte aligned, grown on demand and then kept
    /// (the workers are persistent), so a call allocates nothing once each thread has seen its largest layer.</summary>
    private static class Scratch
    {
        [ThreadStatic] private static float[]? _v;
        [ThreadStatic] private static float[]? _m;
        [ThreadStatic] private static float[]? _u;
        [ThreadStatic] private static float[]? _a;

        public static float* A(int floats) => Get(ref _a, floats);

        public static float* U(int floats) => Get(ref _u, floats);

        public static float* V(int floats) => Get(ref _v, floats);
        public static float* M(int floats) => Get(ref _m, floats);

        private static float* Get(ref float[]? buffer, int floats) => GemmScratch.Aligned(ref buffer, floats);
    }
}
