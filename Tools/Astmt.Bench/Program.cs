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
        try
        {
            return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
        {
            // Bad flags and missing libraries are the user's to fix: say what was wrong, without a stack trace.
            Console.Error.WriteLine($"Astmt.Bench: {e.Message}");
            return 2;
        }
    }
}
