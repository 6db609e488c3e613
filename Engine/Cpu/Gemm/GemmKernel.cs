namespace Astmt.Engine.Cpu;

/// <summary>Which SGEMM microkernel runs. <see cref="Auto"/> picks the widest one the CPU supports.</summary>
public enum GemmKernel
{
    /// <summary>Widest supported: AVX-512, else AVX2+FMA, else Vector128.</summary>
    Auto,
    /// <summary>AVX-512F, 8×32 register tile.</summary>
    Avx512,
    /// <summary>AVX2 with FMA3, 6×16 register tile.</summary>
    Avx2,
    /// <summary>Portable Vector128, 4×8 register tile (SSE, NEON or software vectors).</summary>
    Vector128,
}
