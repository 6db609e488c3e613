using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Astmt.Engine.Cpu;

/// <summary>
/// The im2col matrix of one image x [C,H,W] as a GEMM operand that is never written out: row (c,r,s), column (p,q) holds
/// x[c, p·stride − padding + r·dilation, q·stride − padding + s·dilation], or zero where that falls in the padding.
/// Rows number C·R·S, columns P·Q. Several images side by side ([C·R·S, Images·P·Q], image i at X + i·ImageStride) let
/// small feature maps share one GEMM.
/// </summary>
internal unsafe struct Im2ColView
{
    /// <summary>The image [C,H,W], pinned for the duration of the GEMM.</summary>
    public float* X;

    /// <summary>Channels, input height and width.</summary>
    public int C, H, W;

    /// <summary>Kernel height and width.</summary>
    public int R, S;

    /// <summary>Output height and width.</summary>
    public int P, Q;

    /// <summary>Convolution hyper-parameters.</summary>
    public int Stride, Padding, Dilation;

    /// <summary>Images side by side along the columns (at least 1), and the elements from one image to the next.</summary>
    public int Images, ImageStride;

    /// <summary>Rows of the matrix: C·R·S.</summary>
    public readonly int Rows => C * R * S;

    /// <summary>Columns of the matrix: Images·P·Q.</summary>
    public readonly int Cols => Images * P * Q;
}

/// <summary>
/// Implicit-GEMM packing: fills the GEMM's B micro-panels (kc×NR, k-major, see <see cref="GemmPacking.PackB{TK}"/>)
/// straight from the NCHW image, with padding, stride and dilation, so a convolution never materialises its im2col matrix.
/// The panels hold exactly the bytes explicit im2col followed by <see cref="GemmPacking.PackB{TK}"/> would, so the
/// microkernel arithmetic (and its independence of the thread count) is unchanged.
/// </summary>
internal static unsafe class Im2ColPacking
{
    /// <summary>Most kernel columns S whose valid output-column ranges are kept on the stack.</summary>
    private const int MaxStackTaps = 64;

    /// <summary>Packs col[p0..p0+kc, j0..j0+nc] (op(B) = col [C·R·S, P·Q]: convolution forward) into micro-panels of
    /// kc×NR; panel t starts at dst + t·NR·kc. Columns past nc are zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackCol<TK>(in Im2ColView v, int p0, int kc, int j0, int nc, float* dst) where TK : struct, IMicrokernel
    {
        int nr = TK.NR;
        Span<int> bounds = v.S <= MaxStackTaps ? stackalloc int[2 * MaxStackTaps] : new int[2 * v.S];
        ColumnBounds(v, bounds);
        // A micro-panel's columns are runs of output positions within one output row each: (row, first q, length, image).
        Span<int> runs = stackalloc int[RunInts * (nr + 1)];
        int taps = v.R * v.S;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            int runCount = SplitIntoRuns(j0 + jr, cols, v, runs);
            float* d = dst + (nint)jr * kc;
            int crs = p0, c = crs / taps, r = crs % taps / v.S, s = crs % v.S;
            if (runCount == 1 && cols == nr && v.Stride == 1)
            {
                PackColOneRun<TK>(v, runs[0], runs[1], runs[3], kc, c, r, s, bounds, d);
                continue;
            }
            for (int kk = 0; kk < kc; kk++)
            {
                float* dk = d + (nint)kk * nr;
                GatherTap(v, c, r, s, bounds, runs, runCount, dk);
                if (cols < nr) Zero(dk + cols, nr - cols);
                if (++s == v.S) { s = 0; if (++r == v.R) { r = 0; c++; } }
            }
        }
    }

    /// <summary>
    /// The common micro-panel of a stride-1 convolution: all NR columns in one output row (oh, q..q+NR) of one image, so
    /// each k row is one contiguous stretch of an input row, copied whole unless it touches the padding. Starts at tap
    /// (c, r, s). Per k row this is a bounds test and NR floats copied, which matters because at full resolution a packed
    /// panel is used by only M/MR microkernel calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackColOneRun<TK>(in Im2ColView v, int oh, int q, int image, int kc, int c, int r, int s, Span<int> bounds, float* d)
        where TK : struct, IMicrokernel
    {
        int nr = TK.NR, plane = v.H * v.W, taps = v.R * v.S;
        // What a k row holds depends only on its tap (r, s), not on its channel: the offset of its input stretch within a
        // channel plane, ZeroRow when the tap's input row is padding, or PartialRow when the stretch touches the side padding.
        const int ZeroRow = -1, PartialRow = -2;
        Span<int> tapOffset = taps <= MaxStackTaps ? stackalloc int[MaxStackTaps] : new int[taps];
        for (int rr = 0, t = 0; rr < v.R; rr++)
            for (int ss = 0; ss < v.S; ss++, t++)
            {
                int h = oh + rr * v.Dilation - v.Padding, dw = ss * v.Dilation - v.Padding;
                tapOffset[t] = (uint)h >= (uint)v.H ? ZeroRow
                    : q >= bounds[2 * ss] && q + nr <= bounds[2 * ss + 1] ? h * v.W + dw + q
                    : PartialRow;
            }
        float* xc = v.X + (nint)image * v.ImageStride + (nint)c * plane;
        int tap = r * v.S + s;
        for (int kk = 0; kk < kc; kk++)
        {
            float* dk = d + (nint)kk * nr;
            int offset = tapOffset[tap];
            if (offset >= 0) CopyPanelRow(xc + offset, dk, nr);
            else if (offset == ZeroRow) Zero(dk, nr);
            else
            {
                int rr = tap / v.S, ss = tap - rr * v.S;
                int h = oh + rr * v.Dilation - v.Padding, dw = ss * v.Dilation - v.Padding;
                GatherRun(xc + (nint)h * v.W + dw, 1, q, nr, bounds[2 * ss], bounds[2 * ss + 1], dk);
            }
            if (++tap == taps) { tap = 0; xc += plane; }
        }
    }

    /// <summary>Copies one k row of a micro-panel (NR floats): whole 512-bit vectors where the CPU has them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyPanelRow(float* src, float* dst, int nr)
    {
        if (Vector512.IsHardwareAccelerated && nr % 16 == 0)
            for (int i = 0; i < nr; i += 16) Vector512.Store(Vector512.Load(src + i), dst + i);
        else Copy(src, dst, nr);
    }

    /// <summary>Packs colᵀ[p0..p0+kc, j0..j0+nc] (op(B) = colᵀ [P·Q, C·R·S]: convolution backward-weight) into
    /// micro-panels of kc×NR. Each column of the panel is a row of col, gathered contiguously into scratch eight at a
    /// time and transposed in registers into the panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackColTransposed<TK>(in Im2ColView v, int p0, int kc, int j0, int nc, float* dst) where TK : struct, IMicrokernel
    {
        int nr = TK.NR;
        Span<int> bounds = v.S <= MaxStackTaps ? stackalloc int[2 * MaxStackTaps] : new int[2 * v.S];
        ColumnBounds(v, bounds);
        int maxRuns = (kc + v.Q - 1) / v.Q + 1;
        Span<int> runs = maxRuns <= 128 ? stackalloc int[RunInts * 128] : new int[RunInts * maxRuns];
        int runCount = SplitIntoRuns(p0, kc, v, runs);
        if (v.Stride == 1 && Transpose8x8.IsSupported && nr % 8 == 0)
        {
            PackColTransposedDirect<TK>(v, kc, j0, nc, bounds, runs, runCount, dst);
            return;
        }
        int ldt = (kc + 7) & ~7;
        float* rows8 = GemmScratch.Gather(8 * ldt);
        int taps = v.R * v.S, total = v.Rows;
        bool transpose8 = Transpose8x8.IsSupported && nr % 8 == 0;
        int kc8 = kc & ~7;
        for (int jr = 0; jr < nc; jr += nr)
        {
            float* d = dst + (nint)jr * kc;
            for (int j8 = 0; j8 < nr; j8 += 8)
            {
                int group = Math.Min(8, nr - j8);
                for (int g = 0; g < group; g++)
                {
                    float* t = rows8 + g * ldt;
                    int crs = j0 + jr + j8 + g;
                    // Columns past the matrix (or past this call's nc) pack as zeros.
                    if (jr + j8 + g >= nc || crs >= total) { Zero(t, kc); continue; }
                    GatherTap(v, crs / taps, crs % taps / v.S, crs % v.S, bounds, runs, runCount, t);
                }
                int p = 0;
                if (transpose8 && group == 8)
                    for (; p < kc8; p += 8) Transpose8x8.Run(rows8 + p, ldt, d + (nint)p * nr + j8, nr);
                for (int g = 0; g < group; g++)
                {
                    float* t = rows8 + g * ldt;
                    float* dj = d + j8 + g;
                    for (int pp = p; pp < kc; pp++) dj[(nint)pp * nr] = t[pp];
                }
            }
        }
    }

    /// <summary>
    /// <see cref="PackColTransposed{TK}"/> for stride 1, without the gather copy: for eight taps (panel columns) and eight
    /// output positions of one output row, the eight source rows are stretches of input rows, so the 8×8 block is loaded
    /// straight from the image and transposed in registers into the panel. A tap whose 8 positions touch the padding (first
    /// and last chunks of a row, rows of the vertical padding) is read with a masked load that leaves zeros there, and the
    /// positions of a run past its last whole chunk are packed one by one. The panel holds the same bytes as the gathering
    /// path (tap offsets are computed once per group of eight taps: three integer divisions per tap and run cost more than
    /// the copies).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackColTransposedDirect<TK>(in Im2ColView v, int kc, int j0, int nc, Span<int> bounds, Span<int> runs, int runCount,
        float* dst) where TK : struct, IMicrokernel
    {
        int nr = TK.NR, taps = v.R * v.S, total = v.Rows, plane = v.H * v.W;
        // Per tap of the group: the input row at output column 0 of the run (null in the vertical padding or past the
        // matrix), and the run offsets [lo, end) whose positions read inside the row.
        float** rowAt = stackalloc float*[8];
        int* lo = stackalloc int[8];
        int* end = stackalloc int[8];
        // Per tap of the group, fixed over the runs: the offset of its input from (output row 0, output column 0) within an
        // image, its input row at output row 0 (dh; int.MinValue for columns past the matrix) and its kernel column.
        nint* tapOffset = stackalloc nint[8];
        int* tapDh = stackalloc int[8];
        int* tapS = stackalloc int[8];
        float* gathered = GemmScratch.Gather(64);
        for (int jr = 0; jr < nc; jr += nr)
        {
            float* d = dst + (nint)jr * kc;
            for (int j8 = 0; j8 < nr; j8 += 8)
            {
                int crs0 = j0 + jr + j8;
                int c = crs0 / taps, r = crs0 % taps / v.S, s = crs0 % v.S;
                for (int g = 0; g < 8; g++)
                {
                    if (jr + j8 + g < nc && crs0 + g < total)
                    {
                        int dh = r * v.Dilation - v.Padding, dw = s * v.Dilation - v.Padding;
                        tapDh[g] = dh;
                        tapS[g] = s;
                        tapOffset[g] = (nint)c * plane + (nint)dh * v.W + dw;
                    }
                    else tapDh[g] = int.MinValue / 2;
                    if (++s == v.S) { s = 0; if (++r == v.R) { r = 0; c++; } }
                }
                int off = 0;
                for (int i = 0; i < runCount; i++)
                {
                    int oh = runs[RunInts * i], q = runs[RunInts * i + 1], len = runs[RunInts * i + 2];
                    float* image = v.X + (nint)runs[RunInts * i + 3] * v.ImageStride + (nint)oh * v.W + q;
                    int groupLo = 0, groupEnd = len;
                    for (int g = 0; g < 8; g++)
                    {
                        int h = oh + tapDh[g];
                        if ((uint)h >= (uint)v.H)
                        {
                            rowAt[g] = null;
                            lo[g] = len;
                            end[g] = 0;
                            groupLo = len;
                            continue;
                        }
                        // Position u of the run reads output column q + u, inside the row for q + u in [qLo, qHi).
                        int tapColumn = tapS[g];
                        rowAt[g] = image + tapOffset[g];
                        lo[g] = Math.Max(0, bounds[2 * tapColumn] - q);
                        end[g] = Math.Min(len, bounds[2 * tapColumn + 1] - q);
                        groupLo = Math.Max(groupLo, lo[g]);
                        groupEnd = Math.Min(groupEnd, end[g]);
                    }
                    float* dr = d + (nint)off * nr + j8;
                    // Chunks (8 positions from offset 0) every tap reads whole start at fastLo and end by groupEnd; those
                    // before and after touch the padding for some tap.
                    int fastLo = (groupLo + 7) & ~7, u = 0;
                    for (; u < fastLo && u + 8 <= len; u += 8) MaskedChunk(rowAt, lo, end, u, dr + (nint)u * nr, nr);
                    if (u + 8 <= groupEnd)
                    {
                        // Eight row pointers walked along the run: kept in registers, not reloaded per chunk.
                        float* s0 = rowAt[0] + u, s1 = rowAt[1] + u, s2 = rowAt[2] + u, s3 = rowAt[3] + u;
                        float* s4 = rowAt[4] + u, s5 = rowAt[5] + u, s6 = rowAt[6] + u, s7 = rowAt[7] + u;
                        float* block = dr + (nint)u * nr;
                        nint blockStep = 8 * (nint)nr;
                        for (; u + 8 <= groupEnd; u += 8)
                        {
                            Transpose8x8.Run(s0, s1, s2, s3, s4, s5, s6, s7, block, nr);
                            s0 += 8; s1 += 8; s2 += 8; s3 += 8; s4 += 8; s5 += 8; s6 += 8; s7 += 8;
                            block += blockStep;
                        }
                    }
                    for (; u + 8 <= len; u += 8) MaskedChunk(rowAt, lo, end, u, dr + (nint)u * nr, nr);
                    if (u < len)
                    {
                        int n = len - u;
                        for (int g = 0; g < 8; g++)
                        {
                            float* t = gathered + 8 * g;
                            GatherChunk(rowAt[g], u, n, lo[g], end[g], t);
                            float* dj = dr + g;
                            for (int k = 0; k < n; k++) dj[(nint)(u + k) * nr] = t[k];
                        }
                    }
                    off += len;
                }
            }
        }
    }

    /// <summary>One 8-position chunk of a run for the eight taps of a group, some of which touch the padding: each tap read
    /// with <see cref="ChunkOfTap"/>, transposed into the panel rows at <paramref name="block"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MaskedChunk(float** rowAt, int* lo, int* end, int u, float* block, int nr)
    {
        var at = Vector256.Create(u) + Lanes;
        Transpose8x8.TransposeAndStore(ChunkOfTap(rowAt[0], u, lo[0], end[0], at), ChunkOfTap(rowAt[1], u, lo[1], end[1], at),
            ChunkOfTap(rowAt[2], u, lo[2], end[2], at), ChunkOfTap(rowAt[3], u, lo[3], end[3], at),
            ChunkOfTap(rowAt[4], u, lo[4], end[4], at), ChunkOfTap(rowAt[5], u, lo[5], end[5], at),
            ChunkOfTap(rowAt[6], u, lo[6], end[6], at), ChunkOfTap(rowAt[7], u, lo[7], end[7], at), block, nr);
    }

    /// <summary>Lane indices 0..7.</summary>
    private static readonly Vector256<int> Lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);

    /// <summary>row[u..u+8] with zeros at the run offsets outside [lo, end) (everywhere when row is null); <paramref name="at"/>
    /// holds u..u+7. The masked load does not touch the elements it leaves out, which may lie outside the image.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ChunkOfTap(float* row, int u, int lo, int end, Vector256<int> at)
    {
        if (row == null || u + 8 <= lo || u >= end) return Vector256<float>.Zero;
        if (u >= lo && u + 8 <= end) return Avx.LoadVector256(row + u);
        var inside = Vector256.GreaterThanOrEqual(at, Vector256.Create(lo)) & Vector256.LessThan(at, Vector256.Create(end));
        return Avx.MaskLoad(row + u, inside.AsSingle());
    }

    /// <summary>t[i] = row[u + i] for run offsets u + i inside [lo, end), zero elsewhere (everywhere when row is null);
    /// i in [0, n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatherChunk(float* row, int u, int n, int lo, int end, float* t)
    {
        for (int i = 0; i < n; i++)
        {
            int k = u + i;
            t[i] = row != null && k >= lo && k < end ? row[k] : 0f;
        }
    }

    /// <summary>
    /// Packs rows [i0, i0+mc) and k range [p0, p0+kc) of the flipped, transposed weights w'[c, (k,t)] = w[k, c, T−1−t]
    /// (w [K,C,R,S], T = R·S) into micro-panels of kc×MR, as <see cref="GemmPacking.PackA{TK}"/> lays them out. Rows past
    /// mc pack as zeros. For one k, the MR rows are MR consecutive runs of T taps in w, read backwards.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackFlippedWeights<TK>(float* w, in FlippedWeightsShape shape, int i0, int mc, int p0, int kc, float* dst)
        where TK : struct, IMicrokernel
    {
        int mr = TK.MR, taps = shape.Taps;
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* d = dst + (nint)ir * kc;
            // One output channel k at a time: each of the MR rows is a contiguous run of taps in w, read backwards.
            for (int p = 0; p < kc;)
            {
                int k = (p0 + p) / taps, t = (p0 + p) - k * taps, run = Math.Min(taps - t, kc - p);
                float* dp = d + (nint)p * mr;
                int u8 = 0;
                if (mr == 8 && rows == 8 && Transpose8x8.IsSupported)
                {
                    // Eight taps of the eight rows at a time, transposed in registers and stored with a negative stride,
                    // which reverses the taps: the tap at offset j of the loaded eight lands at position u8 + 7 − j.
                    for (; u8 + 8 <= run; u8 += 8)
                        Transpose8x8.Run(w + ((nint)k * shape.C + i0 + ir) * taps + (taps - 1 - t - u8 - 7), taps, dp + (nint)(u8 + 7) * mr, -mr);
                }
                for (int i = 0; i < rows; i++)
                {
                    float* src = w + ((nint)k * shape.C + i0 + ir + i) * taps + (taps - 1 - t);
                    for (int u = u8; u < run; u++) dp[(nint)u * mr + i] = src[-u];
                }
                for (int i = rows; i < mr; i++)
                    for (int u = 0; u < run; u++) dp[(nint)u * mr + i] = 0f;
                p += run;
            }
        }
    }

    /// <summary>For each kernel column s, the output columns [qLo, qHi) whose input column q·stride + s·dilation − padding
    /// lies inside [0, W) (empty when none does), stored as bounds[2s], bounds[2s+1].</summary>
    private static void ColumnBounds(in Im2ColView v, Span<int> bounds)
    {
        for (int s = 0; s < v.S; s++)
        {
            int dw = s * v.Dilation - v.Padding;
            int lo = dw >= 0 ? 0 : Math.Min(v.Q, (-dw + v.Stride - 1) / v.Stride);
            int hi = v.W - dw <= 0 ? 0 : Math.Min(v.Q, (v.W - dw + v.Stride - 1) / v.Stride);
            bounds[2 * s] = lo;
            bounds[2 * s + 1] = Math.Max(lo, hi);
        }
    }

    /// <summary>Ints per run: output row, first output column, length, image.</summary>
    private const int RunInts = 4;

    /// <summary>Splits columns [first, first + count) (positions over all images) into runs within one output row of one
    /// image. Returns the number of runs.</summary>
    private static int SplitIntoRuns(int first, int count, in Im2ColView v, Span<int> runs)
    {
        int n = 0, t = first, end = first + count, q = v.Q;
        while (t < end)
        {
            int row = t / q, col = t - row * q, len = Math.Min(q - col, end - t);
            int image = row / v.P;
            runs[RunInts * n] = row - image * v.P;
            runs[RunInts * n + 1] = col;
            runs[RunInts * n + 2] = len;
            runs[RunInts * n + 3] = image;
            n++;
            t += len;
        }
        return n;
    }

    /// <summary>One k row of the column matrix: tap (c, r, s) over the output runs of <paramref name="runs"/>, written
    /// contiguously to <paramref name="dst"/> (rows that fall in the vertical padding as zeros).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatherTap(in Im2ColView v, int c, int r, int s, Span<int> bounds, Span<int> runs, int runCount, float* dst)
    {
        float* xc = v.X + (nint)c * v.H * v.W;
        int dh = r * v.Dilation - v.Padding, dw = s * v.Dilation - v.Padding;
        int qLo = bounds[2 * s], qHi = bounds[2 * s + 1];
        int off = 0;
        for (int i = 0; i < runCount; i++)
        {
            int oh = runs[RunInts * i], q = runs[RunInts * i + 1], len = runs[RunInts * i + 2];
            int h = oh * v.Stride + dh;
            if ((uint)h >= (uint)v.H) Zero(dst + off, len);
            else GatherRun(xc + (nint)runs[RunInts * i + 3] * v.ImageStride + (nint)h * v.W + dw, v.Stride, q, len, qLo, qHi, dst + off);
            off += len;
        }
    }

    /// <summary>dst[i] = row[(q + i)·stride] for output columns q + i inside [qLo, qHi), zero outside; i in [0, len).
    /// <paramref name="row"/> points at input column dw of the input row, so output column q reads row[q·stride].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GatherRun(float* row, int stride, int q, int len, int qLo, int qHi, float* dst)
    {
        int lo = Math.Max(q, qLo), hi = Math.Min(q + len, qHi);
        if (lo >= hi) { Zero(dst, len); return; }
        if (lo > q) Zero(dst, lo - q);
        float* d = dst + (lo - q);
        int n = hi - lo;
        if (stride == 1) Copy(row + lo, d, n);
        else
        {
            float* src = row + (nint)lo * stride;
            for (int i = 0; i < n; i++) d[i] = src[(nint)i * stride];
        }
        if (hi < q + len) Zero(dst + (hi - q), q + len - hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* src, float* dst, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(src + i), dst + i);
        for (; i < n; i++) dst[i] = src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(float* dst, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8) Vector256.Store(Vector256<float>.Zero, dst + i);
        for (; i < n; i++) dst[i] = 0f;
    }
}
