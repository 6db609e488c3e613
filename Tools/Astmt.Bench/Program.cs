using System.CommandLine;
using Astmt.Bench.Commands;

namespace Astmt.Bench;

/// <summary>
/// Console benchmark of the engine. Each command lives in Commands/ and shares the measurement method
/// (Measurement/Sampler: warm-up, then the median of N timed runs, GC count and peak RSS) and the output helpers
/// (Report/: console table and JSON). Benchmarks report; they never assert.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("Astmt.Native benchmarks: GEMM against OpenBLAS, the machine's FMA peak, and BenchmarkDotNet micro-benchmarks.")
        {
            GemmCommand.Create(),
            PeakCommand.Create(),
            MicroCommand.Create(),
            ModelStepCommand.CreateTrainStep(),
            ModelStepCommand.CreateForward(),
        };
        return root.Parse(args).Invoke();
    }
}
