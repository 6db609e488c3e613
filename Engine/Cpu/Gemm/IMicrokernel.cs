namespace Astmt.Engine.Cpu;

/// <summary>
/// A register-blocked GEMM microkernel: C[MR×NR] = alpha·(Ã·B̃) + beta·C over one packed A micro-panel (kc×MR, k-major)
/// and one packed B micro-panel (kc×NR, k-major). The driver is generic over the implementing struct, so the JIT
/// specialises the loop nest for each kernel and the per-tile call is direct.
/// </summary>
internal unsafe interface IMicrokernel
{
    /// <summary>Rows of C per tile (broadcast A elements per k step).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of C per tile (vector width × vectors per row).</summary>
    static abstract int NR { get; }

    /// <summary>Computes one full tile. When <paramref name="beta"/> is 0, C is written without being read (BLAS semantics:
    /// NaN or garbage in C does not propagate). Otherwise each element becomes fma(beta, c, alpha·acc).</summary>
    static abstract void Run(int kc, float* pa, float* pb, float* c, nint ldc, float alpha, float beta);

    /// <summary>The left half of a tile (NR/2 columns) with beta = 0: c = alpha·acc. For edge panels of at most NR/2
    /// columns, which would otherwise cost a full tile. Column j accumulates exactly as in <see cref="Run"/>.</summary>
    static abstract void RunHalf(int kc, float* pa, float* pb, float* c, nint ldc, float alpha);

    /// <summary>The scalar form of the kernel's store: beta·c + t with the same rounding as its vector update, where t is
    /// alpha·acc as stored by a beta = 0 call. Lets edge tiles merge into C bit-identically to full tiles.</summary>
    static abstract float Merge(float beta, float c, float t);
}
