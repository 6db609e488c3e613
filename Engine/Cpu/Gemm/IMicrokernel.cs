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
}
