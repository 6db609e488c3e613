using System.Globalization;
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
/// shared counter in one parallel region. The tile blocks, the k blocking of the depth and the arithmetic of each tile
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
    /// every call, which tiny maps cannot amortise.</summary>
    internal static int MinTiles { get; set; } = 128;

    /// <summary>When set, the tiles per block (rounded up to the kernel's NR) instead of the cache-derived size; tests use
    /// it to exercise many blocks on small maps.</summary>
    internal static int? ForcedBlockTiles { get; set; }

    /// <summary>Target floats of one ξ's transformed input in a block (depth · tiles), read by every row panel of its product: a quarter of a 1 MiB L2.</summary>
    private const int BlockInputFloats = 1 << 16;

    /// <summary>Width of the zero-padded strip an edge group of eight tiles is copied into (18 columns used).</summary>
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
        int blockTiles = RoundUp(ForcedBlockTiles ?? Math.Clamp(BlockInputFloats / depth, nr, 256), nr);
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
        float* u = Scratch.U(checked((int)(16 * uStride)));
        var job = Job<TK>.Cached ??= new Job<TK>();
        job.P = problem;
        job.U = u;
        job.Rows = rows; job.RowsPad = rowsPad; job.Depth = depth; job.KcStep = kcStep;
        job.TilesH = tilesH; job.TilesW = tilesW; job.Tiles = tiles; job.BlockTiles = blockTiles;
        job.Blocks = blocks; job.ChunkRows = chunkRows; job.Chunks = chunks;
        job.UStride = uStride; job.VStride = PaddedStride((nint)depth * blockTiles); job.MStride = PaddedStride((nint)chunkRows * blockTiles);
        job.WeightUnits = (depth + 7) / 8 * ((rowsPad + 7) / 8);
        job.Phase = 0;
        job.Next = 0;
        try
        {
            Parallelism.Run(job, Math.Min(threads, job.WeightUnits));
            job.Phase = 1;
            job.Next = 0;
            Parallelism.Run(job, Math.Min(threads, blocks * chunks));
        }
        finally { job.P = default; job.U = null; }
    }

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
        /// <summary>Floats from one ξ's matrix to the next in U, V and M: padded by one cache line, because sixteen streams a
        /// power of two apart would all map to the same cache sets (12 ways in L1) and evict each other.</summary>
        public nint UStride, VStride, MStride;
        public int Next;

        public void Execute(int part, int parts)
        {
            if (Phase == 0)
            {
                int groupsPerRow = (Depth + 7) / 8;
                for (int unit = Interlocked.Increment(ref Next) - 1; unit < WeightUnits; unit = Interlocked.Increment(ref Next) - 1)
                    TransformWeights(unit / groupsPerRow * 8, unit % groupsPerRow * 8);
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
                Multiply(count, r0, r1, v, m);
                TransformOutput(t0, count, r0, Math.Min(Rows, r1), m);
            }
        }

        /// <summary>U[ξ] for product rows [r0, r0+8) and depth channels [d0, d0+8), stored into the packed A panels (k block
        /// of the depth, row panel of the row). In both passes the eight filters w[k, c..c+8) are 72 contiguous floats, which
        /// an 8x8 transpose turns into one vector per tap with the eight channels c in the lanes: in backward-data c is the
        /// row, so each ξ is one store into the panel; in the forward pass c is the depth, so eight rows are transformed into
        /// a small tile first and each ξ is transposed into the panel.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformWeights(int r0, int d0)
        {
            var g = stackalloc Vector256<float>[9];
            var u = stackalloc Vector256<float>[16];
            var taps = stackalloc float[64];
            if (P.Flip)
            {
                int lanes = Math.Min(8, Rows - r0), padLanes = Math.Min(8, RowsPad - r0);
                for (int d = d0; d < Math.Min(Depth, d0 + 8); d++)
                {
                    LoadTaps(P.W + d * P.DepthStride + r0 * P.RowStride, lanes, taps, g);
                    FilterTransform(g, u);
                    for (int xi = 0; xi < 16; xi++) StoreRows(Flipped(xi), r0, padLanes, d, u[xi]);
                }
                return;
            }
            var tile = stackalloc float[16 * 64];
            int depthLanes = Math.Min(8, Depth - d0), rows = Math.Min(8, RowsPad - r0);
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
            int p0 = d0 / KcStep * KcStep, kc = Math.Min(KcStep, Depth - p0);
            bool whole = TK.MR == 8 && rows == 8 && depthLanes == 8 && d0 + 8 <= p0 + kc && Transpose8x8.IsSupported;
            for (int xi = 0; xi < 16; xi++)
            {
                float* src = tile + xi * 64;
                if (whole)
                {
                    // tile[i·8 + l] (row r0+i, depth d0+l) → panel[(d0+l−p0)·8 + i]
                    Transpose8x8.Run(src, 8, U + xi * UStride + (nint)p0 * RowsPad + (nint)r0 * kc + (nint)(d0 - p0) * 8, 8);
                    continue;
                }
                for (int l = 0; l < depthLanes; l++)
                for (int i = 0; i < rows; i++)
                    U[PanelOffset(xi, r0 + i, d0 + l)] = src[i * 8 + l];
            }
        }

        /// <summary>Where U[ξ] (row r, depth d) lives in the packed A panels.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private nint PanelOffset(int xi, int r, int d)
        {
            int p0 = d / KcStep * KcStep, kc = Math.Min(KcStep, Depth - p0);
            return xi * UStride + (nint)p0 * RowsPad + (nint)(r / TK.MR * TK.MR) * kc + (nint)(d - p0) * TK.MR + r % TK.MR;
        }

        /// <summary>U[ξ] of rows [r0, r0+lanes) at depth d from the lanes of one vector (rows past the product are zeros).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreRows(int xi, int r0, int lanes, int d, Vector256<float> value)
        {
            if (TK.MR == 8 && lanes == 8)
            {
                value.Store(U + PanelOffset(xi, r0, d));
                return;
            }
            for (int l = 0; l < lanes; l++) U[PanelOffset(xi, r0 + l, d)] = value.GetElement(l);
        }

        /// <summary>V[ξ] of tiles [t0, t0+count) for every depth channel, stored as packed B panels: block-local tile j of
        /// channel d at ξ·depth·BlockTiles + p0·BlockTiles + (j/NR)·NR·kc + (d−p0)·NR + j%NR (p0 the start of d's k block).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int t0, int count, float* v)
        {
            int nr = TK.NR, perImage = TilesH * TilesW;
            nint matrix = VStride, plane = (nint)P.InH * P.InW;
            var d = stackalloc Vector256<float>[16];
            var strip = stackalloc float[4 * StripWidth];
            var lanes = stackalloc float[16 * 8];
            var rowPtr = stackalloc float*[4];
            var zero = stackalloc float[StripWidth];
            new Span<float>(zero, StripWidth).Clear();
            for (int j = 0; j < count; j += 8)
            {
                int t = t0 + j, image = t / perImage, ty = t % perImage / TilesW, tx = t % TilesW;
                bool oneRow = tx + 8 <= TilesW;
                int top = 2 * ty - P.Pad, left = 2 * tx - P.Pad;
                bool inside = left >= 0 && left + 18 <= P.InW;
                for (int c = 0; c < Depth; c++)
                {
                    float* x = P.X + ((nint)image * Depth + c) * plane;
                    if (oneRow)
                    {
                        for (int r = 0; r < 4; r++)
                        {
                            int row = top + r;
                            if (row < 0 || row >= P.InH) rowPtr[r] = zero;
                            else if (inside) rowPtr[r] = x + (nint)row * P.InW + left;
                            else rowPtr[r] = CopyStrip(x + (nint)row * P.InW, P.InW, left, strip + r * StripWidth);
                        }
                        for (int r = 0; r < 4; r++)
                        {
                            Deinterleave(rowPtr[r], out d[4 * r], out d[4 * r + 1]);
                            Deinterleave(rowPtr[r] + 2, out d[4 * r + 2], out d[4 * r + 3]);
                        }
                    }
                    else
                    {
                        GatherPatches(t, Math.Min(8, Tiles - t), c, lanes);
                        for (int e = 0; e < 16; e++) d[e] = Vector256.Load(lanes + 8 * e);
                    }
                    InputTransform(d);
                    int p0 = c / KcStep * KcStep, kc = Math.Min(KcStep, Depth - p0);
                    float* dst = v + (nint)p0 * BlockTiles + (nint)(j / nr * nr) * kc + (nint)(c - p0) * nr + j % nr;
                    for (int xi = 0; xi < 16; xi++) d[xi].Store(dst + xi * matrix);
                }
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

        /// <summary>Y rows [r0, r1) of tiles [t0, t0+count) = Aᵀ·M·A per tile; a tile's cells past the output edge are dropped.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformOutput(int t0, int count, int r0, int r1, float* m)
        {
            int perImage = TilesH * TilesW;
            nint mMatrix = MStride, outPlane = (nint)P.OutH * P.OutW;
            var s = stackalloc Vector256<float>[16];
            var spill = stackalloc float[4 * 8];
            for (int j = 0; j < count; j += 8)
            {
                int t = t0 + j, image = t / perImage, ty = t % perImage / TilesW, tx = t % TilesW;
                int valid = Math.Min(8, count - j);
                bool whole = valid == 8 && tx + 8 <= TilesW && 2 * (tx + 8) <= P.OutW && 2 * ty + 2 <= P.OutH;
                for (int r = r0; r < r1; r++)
                {
                    float* src = m + (nint)(r - r0) * BlockTiles + j;
                    for (int xi = 0; xi < 16; xi++) s[xi] = Vector256.Load(src + xi * mMatrix);
                    OutputTransform(s, out var y00, out var y01, out var y10, out var y11);
                    if (whole)
                    {
                        float* y = P.Y + ((nint)image * P.OutC + r) * outPlane + (nint)(2 * ty) * P.OutW + 2 * tx;
                        StoreInterleaved(y, y00, y01);
                        StoreInterleaved(y + P.OutW, y10, y11);
                        continue;
                    }
                    y00.Store(spill); y01.Store(spill + 8); y10.Store(spill + 16); y11.Store(spill + 24);
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

    /// <summary>V = Bᵀ·d·B in place for eight patches, d[4r+c]; Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputTransform(Vector256<float>* d)
    {
        for (int r = 0; r < 4; r++)
        {
            var d0 = d[4 * r]; var d1 = d[4 * r + 1]; var d2 = d[4 * r + 2]; var d3 = d[4 * r + 3];
            d[4 * r] = d0 - d2;
            d[4 * r + 1] = d1 + d2;
            d[4 * r + 2] = d2 - d1;
            d[4 * r + 3] = d1 - d3;
        }
        for (int c = 0; c < 4; c++)
        {
            var t0 = d[c]; var t1 = d[4 + c]; var t2 = d[8 + c]; var t3 = d[12 + c];
            d[c] = t0 - t2;
            d[4 + c] = t1 + t2;
            d[8 + c] = t2 - t1;
            d[12 + c] = t1 - t3;
        }
    }

    /// <summary>Y = Aᵀ·m·A for eight tiles, m[4i+j]; Aᵀ = [1 1 1 0; 0 1 −1 −1].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputTransform(Vector256<float>* m, out Vector256<float> y00, out Vector256<float> y01, out Vector256<float> y10, out Vector256<float> y11)
    {
        var s00 = m[0] + m[4] + m[8]; var s01 = m[1] + m[5] + m[9]; var s02 = m[2] + m[6] + m[10]; var s03 = m[3] + m[7] + m[11];
        var s10 = m[4] - m[8] - m[12]; var s11 = m[5] - m[9] - m[13]; var s12 = m[6] - m[10] - m[14]; var s13 = m[7] - m[11] - m[15];
        y00 = s00 + s01 + s02;
        y01 = s01 - s02 - s03;
        y10 = s10 + s11 + s12;
        y11 = s11 - s12 - s13;
    }

    /// <summary>even = p[0], p[2], …, p[14]; odd = p[1], p[3], …, p[15].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave(float* p, out Vector256<float> even, out Vector256<float> odd)
    {
        if (Avx2.IsSupported)
        {
            var a = Avx.LoadVector256(p);
            var b = Avx.LoadVector256(p + 8);
            // [a0 a2 b0 b2 | a4 a6 b4 b6] → 64-bit lanes reordered 0 2 1 3 → [a0 a2 a4 a6 b0 b2 b4 b6]
            even = Avx2.Permute4x64(Avx.Shuffle(a, b, 0x88).AsDouble(), 0xD8).AsSingle();
            odd = Avx2.Permute4x64(Avx.Shuffle(a, b, 0xDD).AsDouble(), 0xD8).AsSingle();
            return;
        }
        even = Vector256.Create(p[0], p[2], p[4], p[6], p[8], p[10], p[12], p[14]);
        odd = Vector256.Create(p[1], p[3], p[5], p[7], p[9], p[11], p[13], p[15]);
    }

    /// <summary>p[0..16) = a0 b0 a1 b1 … a7 b7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreInterleaved(float* p, Vector256<float> a, Vector256<float> b)
    {
        if (Avx2.IsSupported)
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

        public static float* U(int floats) => Get(ref _u, floats);

        public static float* V(int floats) => Get(ref _v, floats);
        public static float* M(int floats) => Get(ref _m, floats);

        private static float* Get(ref float[]? buffer, int floats)
        {
            const int alignFloats = 16;
            if (buffer is null || buffer.Length < floats + alignFloats)
                buffer = GC.AllocateUninitializedArray<float>(Math.Max(floats, 1024) + alignFloats, pinned: true);
            fixed (float* p = buffer)
                return (float*)(((nint)p + 63) & ~(nint)63);
        }
    }
}
