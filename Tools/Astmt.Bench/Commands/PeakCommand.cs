using System.CommandLine;
using Astmt.Bench.Measurement;

namespace Astmt.Bench.Commands;

/// <summary><c>peak</c>: prints the measured FMA peak for 1 … <c>--threads</c> threads.</summary>
internal static class PeakCommand
{
    public static Command Create()
    {
        var threads = new Option<int>("--threads") { Description = "Largest thread count to measure.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("peak", "Measure this machine's FMA peak (register-only FMA loop) per thread count.") { threads };
        command.SetAction(result =>
        {
            int max = result.GetValue(threads);
            if (max < 1) throw new ArgumentException($"--threads must be at least 1, got {max}.");
            for (int t = 1; t <= max; t++)
            {
                var (gflops, width) = FmaPeak.Measure(t);
                Console.WriteLine($"{t} thread(s) at once, {width}: {gflops:F1} GFLOP/s ({gflops / t:F1} per thread)");
            }
            return 0;
        });
        return command;
    }
}
