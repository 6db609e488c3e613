using System.Runtime.InteropServices;
using Astmt.Engine.Cpu;
using BenchmarkDotNet.Attributes;

namespace Astmt.Bench.Micro;

/// <summary>The GEMM hot spots in isolation: one microkernel over L1-resident packed panels, the packing routines,
/// and a whole 256³ SGEMM, for each kernel this CPU supports.</summary>
public unsafe class GemmKernelBenchmarks
{
    private const int KC = 256;
    private float* _pa, _pb, _c, _src;

    [Params(GemmKernel.Avx512, GemmKernel.Avx2, GemmKernel.Vector128)]
    public GemmKernel Kernel { get; set; }

    private float[] _a = [], _b = [], _cc = [];

    [GlobalSetup]
    public void Setup()
    {
        _pa = (float*)NativeMemory.AlignedAlloc(16 * KC * sizeof(float), 64);
        _pb = (float*)NativeMemory.AlignedAlloc(32 * KC * sizeof(float), 64);
        _c = (float*)NativeMemory.AlignedAlloc(16 * 64 * sizeof(float), 64);
        _src = (float*)NativeMemory.AlignedAlloc(256 * 256 * sizeof(float), 64);
        for (int i = 0; i < 16 * KC; i++) _pa[i] = 0.5f;
        for (int i = 0; i < 32 * KC; i++) _pb[i] = 0.25f;
        for (int i = 0; i < 256 * 256; i++) _src[i] = i * 1e-6f;
        _a = new float[256 * 256]; _b = new float[256 * 256]; _cc = new float[256 * 256];
        for (int i = 0; i < _a.Length; i++) { _a[i] = (i % 13) * 0.1f; _b[i] = (i % 7) * 0.2f; }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_pa); NativeMemory.AlignedFree(_pb); NativeMemory.AlignedFree(_c); NativeMemory.AlignedFree(_src);
    }

    /// <summary>One microkernel tile with k = 256 (2·MR·NR·256 flops).</summary>
    [Benchmark]
    public void Microkernel()
    {
        if (!Gemm.IsSupported(Kernel)) return;
        switch (Kernel)
        {
            case GemmKernel.Avx512: Microkernel512.Run(KC, _pa, _pb, _c, 64, 1f, 0f); break;
            case GemmKernel.Avx2: Microkernel256.Run(KC, _pa, _pb, _c, 64, 1f, 0f); break;
            default: Microkernel128.Run(KC, _pa, _pb, _c, 64, 1f, 0f); break;
        }
    }

    /// <summary>Packing a 256×256 block of A (not transposed: the strided scatter).</summary>
    [Benchmark]
    public void PackA()
    {
        if (!Gemm.IsSupported(Kernel)) return;
        var buf = GemmScratch.A(256 * 256);
        switch (Kernel)
        {
            case GemmKernel.Avx512: GemmPacking.PackA<Microkernel512>(false, _src, 256, 0, 256, 0, 256, buf); break;
            case GemmKernel.Avx2: GemmPacking.PackA<Microkernel256>(false, _src, 256, 0, 252, 0, 256, buf); break;
            default: GemmPacking.PackA<Microkernel128>(false, _src, 256, 0, 256, 0, 256, buf); break;
        }
    }

    /// <summary>Packing a 256×256 block of B (not transposed: row copies).</summary>
    [Benchmark]
    public void PackB()
    {
        if (!Gemm.IsSupported(Kernel)) return;
        var buf = GemmScratch.B(256 * 256);
        switch (Kernel)
        {
            case GemmKernel.Avx512: GemmPacking.PackB<Microkernel512>(false, _src, 256, 0, 256, 0, 256, buf); break;
            case GemmKernel.Avx2: GemmPacking.PackB<Microkernel256>(false, _src, 256, 0, 256, 0, 256, buf); break;
            default: GemmPacking.PackB<Microkernel128>(false, _src, 256, 0, 256, 0, 256, buf); break;
        }
    }

    /// <summary>A whole 256³ SGEMM on one thread.</summary>
    [Benchmark]
    public void Sgemm256()
    {
        if (!Gemm.IsSupported(Kernel)) return;
        Gemm.Kernel = Kernel;
        Parallelism.Threads = 1;
        Gemm.Sgemm(Transpose.No, Transpose.No, 256, 256, 256, 1f, _a, 256, _b, 256, 0f, _cc, 256);
    }
}

/// <summary>The fixed cost of a parallel region: the persistent pool against a Task-based Parallel.For of the same parts.</summary>
public class ParallelRegionBenchmarks
{
    private readonly NoWork _work = new();

    [Params(2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup() => Parallelism.Threads = Threads;

    [Benchmark(Baseline = true)]
    public void PersistentPool() => Parallelism.Run(_work, Threads);

    [Benchmark]
    public void TaskParallelFor() => Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, _ => { });

    private sealed class NoWork : IParallelWork
    {
        public void Execute(int part, int parts) { }
    }
}
