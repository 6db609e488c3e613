namespace Astmt.Engine.Cpu;

/// <summary>
/// The packed SGEMM loop nest (BLIS order: jc over N by NC, pc over K by KC, ic over M by MC, jr over NR, ir over MR)
/// and its split over threads. Each thread owns a rectangle of C whose corners lie on the MR×NR tile grid and runs the
/// whole loop nest on it with its own packed buffers, so threads never synchronise inside a call. Because the tile grid
/// and the k blocking do not depend on the thread count, every element of C is computed by the same instructions in the
/// same order for any number of threads: results are bit-identical.
/// </summary>
internal static unsafe class GemmDriver
{
    /// <summary>Below this many multiply-adds a second thread costs more to wake than it saves.</summary>
    private const long ParallelThreshold = 1L << 18;

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
        int mt = (problem.M + TK.MR - 1) / TK.MR, nt = (problem.N + TK.NR - 1) / TK.NR;
        long work = (long)problem.M * problem.N * problem.K;
        int parts = work < ParallelThreshold ? 1 : Math.Min(Parallelism.Threads, mt * nt);
        if (parts <= 1)
        {
            RunRect<TK>(problem, blocking, 0, problem.M, 0, problem.N);
            return;
        }
        var job = Job<TK>.Cached ??= new Job<TK>();
        job.Problem = problem;
        job.Blocking = blocking;
        job.TileRows = mt;
        job.TileCols = nt;
        Parallelism.Run(job, parts);
    }

    /// <summary>The parallel region of one call: part p computes its rectangle of C.</summary>
    private sealed class Job<TK> : IParallelWork where TK : struct, IMicrokernel
    {
        [ThreadStatic] public static Job<TK>? Cached;
        public GemmProblem Problem;
        public GemmBlocking Blocking;
        public int TileRows, TileCols;

        public void Execute(int part, int parts)
        {
            var (tm, tn) = Grid(parts, TileRows, TileCols, Problem.M, Problem.N, TK.MR, TK.NR);
            if (part >= tm * tn) return;
            int pi = part / tn, pj = part % tn;
            int m0 = (int)((long)TileRows * pi / tm) * TK.MR, m1 = Math.Min(Problem.M, (int)((long)TileRows * (pi + 1) / tm) * TK.MR);
            int n0 = (int)((long)TileCols * pj / tn) * TK.NR, n1 = Math.Min(Problem.N, (int)((long)TileCols * (pj + 1) / tn) * TK.NR);
            if (m1 > m0 && n1 > n0) RunRect<TK>(Problem, Blocking, m0, m1, n0, n1);
        }
    }

    /// <summary>Chooses tm×tn ≤ parts thread rectangles that minimise the largest rectangle plus its packing work
    /// (splitting M makes every thread pack all of its columns of B, splitting N all of its rows of A).</summary>
    internal static (int Tm, int Tn) Grid(int parts, int tileRows, int tileCols, int m, int n, int mr, int nr)
    {
        (int, int) best = (1, 1);
        double bestCost = double.MaxValue;
        for (int tm = 1; tm <= parts; tm++)
        {
            if (parts % tm != 0) continue;
            int tn = parts / tm;
            if (tm > tileRows || tn > tileCols) continue;
            double rows = Math.Min(m, (double)((tileRows + tm - 1) / tm) * mr);
            double cols = Math.Min(n, (double)((tileCols + tn - 1) / tn) * nr);
            double cost = rows * cols + 8 * (rows + cols);
            if (cost < bestCost) { bestCost = cost; best = (tm, tn); }
        }
        return best;
    }

    /// <summary>The loop nest over C[m0..m1, n0..n1]; m0 and n0 lie on the tile grid.</summary>
    private static void RunRect<TK>(in GemmProblem g, GemmBlocking blocking, int m0, int m1, int n0, int n1)
        where TK : struct, IMicrokernel
    {
        int mr = TK.MR, nr = TK.NR;
        // Equal k blocks (e.g. 2×150 rather than 192+108) keep the last block from being a short, inefficient one.
        int kBlocks = (g.K + blocking.KC - 1) / blocking.KC;
        int kcStep = (g.K + kBlocks - 1) / kBlocks;
        int mcMax = Math.Min(blocking.MC, (m1 - m0 + mr - 1) / mr * mr);
        int ncMax = Math.Min(blocking.NC, (n1 - n0 + nr - 1) / nr * nr);
        float* bufA = GemmScratch.A(mcMax * kcStep);
        float* bufB = GemmScratch.B(ncMax * kcStep);
        float* tile = GemmScratch.Tile(mr * nr);
        nint ldc = g.Ldc;
        for (int jc = n0; jc < n1; jc += blocking.NC)
        {
            int nc = Math.Min(blocking.NC, n1 - jc);
            for (int kb = 0; kb < kBlocks; kb++)
            {
                int p0 = kb * kcStep;
                int kc = Math.Min(kcStep, g.K - p0);
                GemmPacking.PackB<TK>(g.TransB, g.B, g.Ldb, p0, kc, jc, nc, bufB);
                float beta = kb == 0 ? g.Beta : 1f;
                for (int ic = m0; ic < m1; ic += blocking.MC)
                {
                    int mc = Math.Min(blocking.MC, m1 - ic);
                    GemmPacking.PackA<TK>(g.TransA, g.A, g.Lda, ic, mc, p0, kc, bufA);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        float* pb = bufB + (nint)jr * kc;
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int rows = Math.Min(mr, mc - ir);
                            float* pa = bufA + (nint)ir * kc;
                            float* c = g.C + (ic + ir) * ldc + jc + jr;
                            if (rows == mr && cols == nr) TK.Run(kc, pa, pb, c, ldc, g.Alpha, beta);
                            else EdgeTile<TK>(kc, pa, pb, c, ldc, rows, cols, g.Alpha, beta, tile);
                        }
                    }
                }
            }
        }
    }

    /// <summary>A partial tile goes through a full-size scratch tile so that it uses the microkernel's own arithmetic:
    /// the result does not depend on whether an element happens to sit in an edge tile.</summary>
    private static void EdgeTile<TK>(int kc, float* pa, float* pb, float* c, nint ldc, int rows, int cols, float alpha, float beta, float* tile)
        where TK : struct, IMicrokernel
    {
        int nr = TK.NR;
        if (beta != 0f)
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++) tile[r * nr + j] = c[r * ldc + j];
        TK.Run(kc, pa, pb, tile, nr, alpha, beta);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++) c[r * ldc + j] = tile[r * nr + j];
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
}
