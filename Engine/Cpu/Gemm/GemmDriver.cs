using System.Runtime.CompilerServices;

namespace Astmt.Engine.Cpu;

/// <summary>
/// The packed SGEMM loop nest (BLIS order: jc over N by NC, pc over K by KC, ic over M by MC, jr over NR, ir over MR)
/// and its split over threads. C is cut into rectangular work items whose corners lie on the MR×NR tile grid; threads
/// take items from a shared counter (so a thread slowed by other load on the machine simply takes fewer) and run the
/// whole loop nest on each with their own packed buffers, never synchronising inside a call. Because the tile grid and
/// the k blocking do not depend on the thread count or on which thread takes which item, every element of C is computed
/// by the same instructions in the same order for any number of threads: results are bit-identical.
/// </summary>
internal static unsafe class GemmDriver
{
    /// <summary>Below this many multiply-adds a second thread costs more to wake than it saves.</summary>
    private const long ParallelThreshold = 1L << 18;

    /// <summary>Work items per thread to aim for: enough for dynamic balancing, few enough to keep packing shared.</summary>
    private const int ItemsPerThread = 4;

    /// <summary>Runs C = alpha·op(A)·op(B) + beta·C with the given kernel; m, n, k ≥ 1 and alpha ≠ 0.</summary>
    public static void Run(GemmKernel kernel, in GemmProblem problem)
    {
        switch (kernel)
        {
            case GemmKernel.Avx512: Run<Microkernel512>(problem); break;
            case GemmKernel.Avx2: Run<Microkernel256>(problem); break;
            default: Run<Microkernel128>(problem); break;
        }
    }

    private static void Run<TK>(in GemmProblem problem) where TK : struct, IMicrokernel
    {
        var blocking = GemmBlocking.For<TK>();
        long work = (long)problem.M * problem.N * problem.K;
        int threads = work < ParallelThreshold ? 1 : Parallelism.Threads;
        if (threads <= 1)
        {
            RunRect<TK>(problem, blocking, 0, problem.M, 0, problem.N);
            return;
        }
        if (UseSharedB<TK>(problem, blocking, threads))
        {
            RunSharedB<TK>(problem, blocking, threads);
            return;
        }
        if (UseSharedA<TK>(problem, blocking, threads))
        {
            RunSharedA<TK>(problem, blocking, threads);
            return;
        }
        var items = WorkItems.Plan(problem.M, problem.N, TK.MR, TK.NR, blocking, threads * ItemsPerThread);
        if (items.Count == 1)
        {
            RunRect<TK>(problem, blocking, 0, problem.M, 0, problem.N);
            return;
        }
        var job = Job<TK>.Cached ??= new Job<TK>();
        job.Problem = problem;
        job.Blocking = blocking;
        job.Items = items;
        job.Next = 0;
        Parallelism.Run(job, Math.Min(threads, items.Count));
    }

    /// <summary>Largest B (K × N rounded up to NR, in floats) that is packed once and shared by all threads.</summary>
    private const long SharedBLimit = 4L << 20;

    /// <summary>
    /// Tall, narrow problems (M ≥ N, one column block, e.g. 512×48×4608) are split by rows only. Packing B per work item
    /// would repeat the same panels in every item, so B is packed once, by all threads, into one shared buffer; the items
    /// then pack only their own rows of A. The packed bytes and the arithmetic are those of the per-item path, so the
    /// result is still bit-identical for any thread count.
    /// </summary>
    private static bool UseSharedB<TK>(in GemmProblem g, GemmBlocking blocking, int threads) where TK : struct, IMicrokernel
    {
        int mTiles = (g.M + TK.MR - 1) / TK.MR;
        long nPad = (g.N + TK.NR - 1) / TK.NR * TK.NR;
        return g.N <= blocking.NC && g.M >= g.N && mTiles >= 4 * threads && (long)g.K * nPad <= SharedBLimit;
    }

    private static void RunSharedB<TK>(in GemmProblem problem, GemmBlocking blocking, int threads) where TK : struct, IMicrokernel
    {
        int kBlocks = (problem.K + blocking.KC - 1) / blocking.KC;
        int nPad = (problem.N + TK.NR - 1) / TK.NR * TK.NR;
        float* shared = GemmScratch.Shared(problem.K * nPad);

        // Row blocks of at least two tiles, about ItemsPerThread per thread.
        int mTiles = (problem.M + TK.MR - 1) / TK.MR;
        int rb = Math.Clamp(threads * ItemsPerThread, 1, Math.Max(1, mTiles / 2));
        int rowsPer = (mTiles + rb - 1) / rb * TK.MR;
        var job = Job<TK>.Cached ??= new Job<TK>();
        job.Problem = problem;
        job.Blocking = blocking;
        job.Items = new WorkItems((problem.M + rowsPer - 1) / rowsPer, 1, rowsPer, nPad);
        job.Next = 0;
        job.SharedB = shared;
        job.ResetPackStates(kBlocks * (nPad / TK.NR));
        try { Parallelism.Run(job, Math.Min(threads, job.Items.Count)); }
        finally { job.SharedB = null; }
    }

    /// <summary>
    /// Short, wide problems (one row block, N &gt; M, e.g. convolution backward-weight 64×576 with k = 12288) are split by
    /// columns only, and every column item would pack the same rows of A again (six times over for that shape). A is
    /// packed once instead, one k block per unit of work, into a shared buffer; the items then pack only their own B
    /// panels (<see cref="RunRectPanelWise{TK}"/>). Same packed bytes, same tiles: still bit-identical for any thread count.
    /// </summary>
    private static bool UseSharedA<TK>(in GemmProblem g, GemmBlocking blocking, int threads) where TK : struct, IMicrokernel
    {
        int nTiles = (g.N + TK.NR - 1) / TK.NR;
        long mPad = (g.M + TK.MR - 1) / TK.MR * TK.MR;
        return g.M <= blocking.MC && g.N > g.M && nTiles >= 2 * threads && mPad * g.K + (long)GemmPacking.PackSlack * (g.K + 1) <= SharedBLimit;
    }

    private static void RunSharedA<TK>(in GemmProblem problem, GemmBlocking blocking, int threads) where TK : struct, IMicrokernel
    {
        int kBlocks = (problem.K + blocking.KC - 1) / blocking.KC;
        int kcStep = (problem.K + kBlocks - 1) / kBlocks;
        int mPad = (problem.M + TK.MR - 1) / TK.MR * TK.MR;
        // Each k block gets its own slot with room for the packing's slack, so blocks packed concurrently never write into
        // each other.
        nint blockStride = (nint)mPad * kcStep + GemmPacking.PackSlack;
        float* shared = GemmScratch.Shared((int)(blockStride * kBlocks));

        int nTiles = (problem.N + TK.NR - 1) / TK.NR;
        int colsPer = Math.Max(1, (nTiles + threads * ItemsPerThread - 1) / (threads * ItemsPerThread)) * TK.NR;
        var job = Job<TK>.Cached ??= new Job<TK>();
        job.Problem = problem;
        job.Blocking = blocking;
        job.Items = new WorkItems(1, (problem.N + colsPer - 1) / colsPer, mPad, colsPer);
        job.Next = 0;
        job.SharedA = shared;
        job.SharedABlockStride = blockStride;
        job.ResetPackStates(kBlocks);
        try { Parallelism.Run(job, Math.Min(threads, job.Items.Count)); }
        finally { job.SharedA = null; }
    }

    /// <summary>The parallel region of one call: each part takes work items until none are left.</summary>
    private sealed unsafe class Job<TK> : IParallelWork where TK : struct, IMicrokernel
    {
        [ThreadStatic] public static Job<TK>? Cached;
        public GemmProblem Problem;
        public GemmBlocking Blocking;
        public WorkItems Items;
        public int Next;
        public float* SharedB;
        public float* SharedA;
        public nint SharedABlockStride;

        /// <summary>Per unit of the shared operand (a k block of A, or one NR panel of a k block of B): Unpacked, Packing
        /// or Packed. Kept between calls, grown on demand.</summary>
        private int[] _packStates = new int[64];
        private int _units;
        private const int Unpacked = 0, Packing = 1, Packed = 2;

        /// <summary>Marks the first <paramref name="units"/> units of the shared operand unpacked.</summary>
        public void ResetPackStates(int units)
        {
            if (_packStates.Length < units) _packStates = new int[Math.Max(units, 2 * _packStates.Length)];
            Array.Clear(_packStates, 0, units);
            _units = units;
        }

        /// <summary>
        /// Returns once unit <paramref name="unit"/> of the shared operand is packed. The shared operand is packed inside
        /// the tile region, so a call wakes the worker once: each unit is packed by the first thread that needs it, which
        /// claims it. A thread that finds its unit claimed by another packs later units meanwhile (so the threads still share
        /// the packing), and waits only when none is left. A claimed unit is finished without waiting on anything, so this
        /// cannot deadlock, also when the parts run one after the other on one thread; and who packs a unit does not change
        /// its bytes, so results stay bit-identical for any thread count.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void EnsurePacked(int unit)
        {
            if (Volatile.Read(ref _packStates[unit]) != Packed) EnsurePackedSlow(unit);
        }

        private void EnsurePackedSlow(int unit)
        {
            if (TryPack(unit)) return;
            for (int u = unit + 1; u < _units && Volatile.Read(ref _packStates[unit]) != Packed; u++) TryPack(u);
            var spin = new SpinWait();
            // Packing one unit takes microseconds: spin and yield, never sleep for a millisecond.
            while (Volatile.Read(ref _packStates[unit]) != Packed) spin.SpinOnce(sleep1Threshold: -1);
        }

        /// <summary>Packs the unit if no thread has claimed it yet; true when this call packed it.</summary>
        private bool TryPack(int unit)
        {
            ref int state = ref _packStates[unit];
            if (Volatile.Read(ref state) != Unpacked || Interlocked.CompareExchange(ref state, Packing, Unpacked) != Unpacked) return false;
            try
            {
                int kBlocks = (Problem.K + Blocking.KC - 1) / Blocking.KC, kcStep = (Problem.K + kBlocks - 1) / kBlocks;
                if (SharedA != null)
                {
                    int p0 = unit * kcStep;
                    PackA<TK>(Problem, 0, Problem.M, p0, Math.Min(kcStep, Problem.K - p0), SharedA + unit * SharedABlockStride);
                }
                else
                {
                    int nPad = (Problem.N + TK.NR - 1) / TK.NR * TK.NR, panels = nPad / TK.NR;
                    int kb = unit / panels, j0 = unit % panels * TK.NR, p0 = kb * kcStep, kc = Math.Min(kcStep, Problem.K - p0);
                    PackB<TK>(Problem, p0, kc, j0, Math.Min(TK.NR, Problem.N - j0), SharedB + (nint)p0 * nPad + (nint)j0 * kc);
                }
            }
            finally { Volatile.Write(ref state, Packed); }
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Execute(int part, int parts)
        {
            int i;
            while ((i = Interlocked.Increment(ref Next) - 1) < Items.Count)
            {
                var (m0, m1, n0, n1) = Items.Rect(i, Problem.M, Problem.N);
                if (SharedA != null)
                {
                    int kBlocks = (Problem.K + Blocking.KC - 1) / Blocking.KC;
                    RunRectPanelWise<TK>(Problem, Blocking, m0, m1, n0, n1, kBlocks, (Problem.K + kBlocks - 1) / kBlocks, SharedA, SharedABlockStride, this);
                }
                else RunRect<TK>(Problem, Blocking, m0, m1, n0, n1, SharedB, SharedB == null ? null : this);
            }
        }
    }

    /// <summary>The loop nest over C[m0..m1, n0..n1]; m0 and n0 lie on the tile grid. Jitted fully optimised at once:
    /// tiered compilation would otherwise run the first calls (a whole benchmark of small shapes) on unoptimised code.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunRect<TK>(in GemmProblem g, GemmBlocking blocking, int m0, int m1, int n0, int n1, float* sharedB = null,
        Job<TK>? sharedOwner = null)
        where TK : struct, IMicrokernel
    {
        int mr = TK.MR, nr = TK.NR;
        // Equal k blocks (e.g. 2×150 rather than 192+108) keep the last block from being a short, inefficient one.
        int kBlocks = (g.K + blocking.KC - 1) / blocking.KC;
        int kcStep = (g.K + kBlocks - 1) / kBlocks;
        if (sharedB == null && m1 - m0 <= blocking.MC)
        {
            RunRectPanelWise<TK>(g, blocking, m0, m1, n0, n1, kBlocks, kcStep);
            return;
        }
        int mcMax = Math.Min(blocking.MC, (m1 - m0 + mr - 1) / mr * mr);
        int ncMax = Math.Min(blocking.NC, (n1 - n0 + nr - 1) / nr * nr);
        float* bufA = GemmScratch.A(mcMax * kcStep + GemmPacking.PackSlack);
        // With a shared B (packed once for all threads, see RunSharedB) only A is packed here, and each of B's panels by
        // whichever thread first needs it.
        float* bufB = sharedB == null ? GemmScratch.B(ncMax * kcStep) : null;
        nint nPad = (g.N + nr - 1) / nr * nr;
        float* tile = GemmScratch.Tile(mr * nr);
        nint ldc = g.Ldc;
        for (int jc = n0; jc < n1; jc += blocking.NC)
        {
            int nc = Math.Min(blocking.NC, n1 - jc);
            for (int kb = 0; kb < kBlocks; kb++)
            {
                int p0 = kb * kcStep;
                int kc = Math.Min(kcStep, g.K - p0);
                float* packedB;
                if (sharedB != null) packedB = sharedB + p0 * nPad + (nint)jc * kc;
                else
                {
                    PackB<TK>(g, p0, kc, jc, nc, bufB);
                    packedB = bufB;
                }
                float beta = kb == 0 ? g.Beta : 1f;
                for (int ic = m0; ic < m1; ic += blocking.MC)
                {
                    int mc = Math.Min(blocking.MC, m1 - ic);
                    PackA<TK>(g, ic, mc, p0, kc, bufA);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        float* pb = packedB + (nint)jr * kc;
                        sharedOwner?.EnsurePacked(kb * (int)(nPad / nr) + (jc + jr) / nr);
                        TileColumn<TK>(kc, bufA, pb, g.C + ic * ldc + jc + jr, ldc, mc, cols, g.Alpha, beta, tile);
                    }
                }
            }
        }
    }

    /// <summary>Narrowest column block of <see cref="RunRectPanelWise{TK}"/>.</summary>
    private const int MinPanelWiseColumns = 1024;

    /// <summary>
    /// The loop nest when the rows of C fit one MC block (conv layers: M = output channels ≤ MC): each kc×NR micro-panel of
    /// B is packed just before the MR tiles that use it, into a buffer that stays in L1, instead of packing a whole kc×NC
    /// block first (megabytes at full resolution, read back from L3). Nothing else re-uses a packed B panel when there is
    /// one row block, so the packed bytes and every tile's arithmetic are those of <see cref="RunRect{TK}"/>. The column
    /// block is sized so that C's rows of it stay in L2 across the k blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunRectPanelWise<TK>(in GemmProblem g, GemmBlocking blocking, int m0, int m1, int n0, int n1, int kBlocks, int kcStep,
        float* sharedA = null, nint sharedABlockStride = 0, Job<TK>? sharedOwner = null)
        where TK : struct, IMicrokernel
    {
        int mr = TK.MR, nr = TK.NR;
        int mc = m1 - m0;
        // With a shared A (packed once for all threads, see RunSharedA; then m0 = 0 and m1 = M) each k block of A is packed
        // by whichever thread first needs it.
        float* bufA = sharedA == null ? GemmScratch.A((mc + mr - 1) / mr * mr * kcStep + GemmPacking.PackSlack) : null;
        float* bufB = GemmScratch.B(nr * kcStep);
        float* tile = GemmScratch.Tile(mr * nr);
        // A is packed again for every column block, so blocks are at least MinPanelWiseColumns wide even when C's rows of
        // them then overflow L2 (for M = 512 the L2 size alone would re-pack all of A every 256 columns).
        int ncL2 = Math.Clamp(Math.Max(CacheSizes.L2 / 2 / (Math.Max(mc, mr) * sizeof(float)), MinPanelWiseColumns) / nr * nr, nr, Math.Max(nr, blocking.NC));
        nint ldc = g.Ldc;
        for (int jc = n0; jc < n1; jc += ncL2)
        {
            int nc = Math.Min(ncL2, n1 - jc);
            for (int kb = 0; kb < kBlocks; kb++)
            {
                int p0 = kb * kcStep;
                int kc = Math.Min(kcStep, g.K - p0);
                float beta = kb == 0 ? g.Beta : 1f;
                if (sharedA != null)
                {
                    bufA = sharedA + kb * sharedABlockStride;
                    sharedOwner!.EnsurePacked(kb);
                }
                else PackA<TK>(g, m0, mc, p0, kc, bufA);
                for (int jr = 0; jr < nc; jr += nr)
                {
                    int cols = Math.Min(nr, nc - jr);
                    PackB<TK>(g, p0, kc, jc + jr, cols, bufB);
                    TileColumn<TK>(kc, bufA, bufB, g.C + m0 * ldc + jc + jr, ldc, mc, cols, g.Alpha, beta, tile);
                }
            }
        }
    }

    /// <summary>Packs op(A)[i0..i0+mc, p0..p0+kc] from a stored matrix or from convolution weights read flipped and
    /// transposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackA<TK>(in GemmProblem g, int i0, int mc, int p0, int kc, float* dst) where TK : struct, IMicrokernel
    {
        if (g.ASource == AOperand.FlippedWeights) Im2ColPacking.PackFlippedWeights<TK>(g.A, g.FlippedWeights, i0, mc, p0, kc, dst);
        else GemmPacking.PackA<TK>(g.TransA, g.A, g.Lda, i0, mc, p0, kc, dst);
    }

    /// <summary>Packs op(B)[p0..p0+kc, j0..j0+nc] from wherever B lives: a stored matrix or an image read as its im2col
    /// matrix (or that matrix transposed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackB<TK>(in GemmProblem g, int p0, int kc, int j0, int nc, float* dst) where TK : struct, IMicrokernel
    {
        switch (g.BSource)
        {
            case BOperand.Im2Col: Im2ColPacking.PackCol<TK>(g.Im2Col, p0, kc, j0, nc, dst); break;
            case BOperand.Im2ColTransposed: Im2ColPacking.PackColTransposed<TK>(g.Im2Col, p0, kc, j0, nc, dst); break;
            default: GemmPacking.PackB<TK>(g.TransB, g.B, g.Ldb, p0, kc, j0, nc, dst); break;
        }
    }

    /// <summary>The MR×NR tiles of one column panel: C[0..mc, 0..cols] (+)= A's mc packed rows · one packed B micro-panel,
    /// full tiles on the microkernel and the last, partial ones through <see cref="EdgeTile{TK}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TileColumn<TK>(int kc, float* packedA, float* packedB, float* c, nint ldc, int mc, int cols, float alpha, float beta, float* tile)
        where TK : struct, IMicrokernel
    {
        int mr = TK.MR;
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* pa = packedA + (nint)ir * kc;
            float* ci = c + ir * ldc;
            if (rows == mr && cols == TK.NR) TK.Run(kc, pa, packedB, ci, ldc, alpha, beta);
            else EdgeTile<TK>(kc, pa, packedB, ci, ldc, rows, cols, alpha, beta, tile);
        }
    }

    /// <summary>A partial tile is computed into a scratch tile with beta = 0 (so C's memory outside the matrix is never
    /// touched) and merged with the kernel's own scalar update, which rounds exactly like its vector update: an element's
    /// value does not depend on whether it sits in an edge tile. Panels of at most NR/2 columns use the half-width kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EdgeTile<TK>(int kc, float* pa, float* pb, float* c, nint ldc, int rows, int cols, float alpha, float beta, float* tile)
        where TK : struct, IMicrokernel
    {
        int nr = TK.NR;
        if (cols <= nr / 2) TK.RunHalf(kc, pa, pb, tile, nr, alpha);
        else TK.Run(kc, pa, pb, tile, nr, alpha, 0f);
        for (int r = 0; r < rows; r++)
        {
            float* cr = c + r * ldc;
            float* tr = tile + r * nr;
            if (beta == 0f)
                for (int j = 0; j < cols; j++) cr[j] = tr[j];
            else
                for (int j = 0; j < cols; j++) cr[j] = TK.Merge(beta, cr[j], tr[j]);
        }
    }
}

/// <summary>
/// C cut into RowBlocks × ColBlocks rectangles of Rows × Cols (multiples of MR and NR; the last ones are shorter). Blocks
/// start no larger than MC × NC and are split, the longer side first, until there are enough items to balance.
/// </summary>
internal readonly record struct WorkItems(int RowBlocks, int ColBlocks, int Rows, int Cols)
{
    public int Count => RowBlocks * ColBlocks;

    public static WorkItems Plan(int m, int n, int mr, int nr, GemmBlocking blocking, int target)
    {
        int mTiles = (m + mr - 1) / mr, nTiles = (n + nr - 1) / nr;
        int rb = Math.Max(1, (m + blocking.MC - 1) / blocking.MC), cb = Math.Max(1, (n + blocking.NC - 1) / blocking.NC);
        while (rb * cb < target)
        {
            int rows = (mTiles + rb - 1) / rb * mr, cols = (nTiles + cb - 1) / cb * nr;
            // Splitting rows makes each item pack its own copy of B's columns, splitting columns its own copy of A's rows;
            // splitting the longer side keeps items square and that duplicated packing smallest relative to the work.
            // A split must also leave each item more multiply-adds than PackCostInMacs × the elements it packs: on thin
            // problems (64×27 with k = 12288) extra items would only pack the same panels again.
            int rowsIfSplit = (mTiles + rb) / (rb + 1) * mr, colsIfSplit = (nTiles + cb) / (cb + 1) * nr;
            bool canRows = rowsIfSplit >= 2 * mr && WorthIt(rowsIfSplit, cols);
            bool canCols = colsIfSplit >= 2 * nr && WorthIt(rows, colsIfSplit);
            if (canRows && (rows >= cols || !canCols)) rb++;
            else if (canCols) cb++;
            else break;
        }
        int rowsPer = (mTiles + rb - 1) / rb * mr, colsPer = (nTiles + cb - 1) / cb * nr;
        return new WorkItems((m + rowsPer - 1) / rowsPer, (n + colsPer - 1) / colsPer, rowsPer, colsPer);
    }

    /// <summary>Roughly how many multiply-adds the microkernel does in the time packing moves one element.</summary>
    private const int PackCostInMacs = 32;

    private static bool WorthIt(int rows, int cols) => (long)rows * cols >= (long)PackCostInMacs * (rows + cols);

    public (int M0, int M1, int N0, int N1) Rect(int item, int m, int n)
    {
        int r = item / ColBlocks, c = item % ColBlocks;
        return (r * Rows, Math.Min(m, (r + 1) * Rows), c * Cols, Math.Min(n, (c + 1) * Cols));
    }
}

/// <summary>Pinned operands and sizes of one SGEMM call (row-major; op(A) is M×K, op(B) is K×N, C is M×N).</summary>
internal unsafe struct GemmProblem
{
    public int M, N, K;
    public bool TransA, TransB;
    public float Alpha, Beta;
    public float* A, B, C;
    public nint Lda, Ldb, Ldc;

    /// <summary>Where op(A) comes from; for <see cref="AOperand.FlippedWeights"/>, A points at w [K,C,R,S] and
    /// <see cref="FlippedWeights"/> holds its sizes.</summary>
    public AOperand ASource;
    public FlippedWeightsShape FlippedWeights;

    /// <summary>Where op(B) comes from; for the im2col forms <see cref="Im2Col"/> describes it and B, Ldb, TransB are unused.</summary>
    public BOperand BSource;
    public Im2ColView Im2Col;
}

/// <summary>The storage behind op(A).</summary>
internal enum AOperand
{
    /// <summary>A stored matrix (A, Lda, TransA).</summary>
    Matrix,
    /// <summary>Convolution weights w [K,C,R,S] read as the [C, K·R·S] matrix w'[c, (k,t)] = w[k, c, R·S−1−t]: the
    /// weights of the transposed convolution (stride-1 backward-data as a forward convolution).</summary>
    FlippedWeights,
}

/// <summary>Sizes of convolution weights w [K,C,R,S] read as <see cref="AOperand.FlippedWeights"/> (Taps = R·S).</summary>
internal struct FlippedWeightsShape
{
    public int K, C, Taps;
}

/// <summary>The storage behind op(B).</summary>
internal enum BOperand
{
    /// <summary>A stored matrix (B, Ldb, TransB).</summary>
    Matrix,
    /// <summary>The im2col matrix of an image, [C·R·S, P·Q], built while packing (convolution forward).</summary>
    Im2Col,
    /// <summary>Its transpose, [P·Q, C·R·S] (convolution backward-weight).</summary>
    Im2ColTransposed,
}
