using System.CommandLine;
using Astmt.Bench.Micro;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Astmt.Bench.Commands;

/// <summary>
/// <c>micro</c>: BenchmarkDotNet micro-benchmarks of the hot kernels (microkernels, packing, whole SGEMM per kernel).
/// Runs in-process (the NuGet mirror here cannot restore BenchmarkDotNet's generated projects); remaining arguments go to
/// BenchmarkDotNet, e.g. <c>micro -- --filter *Microkernel*</c>.
/// </summary>
internal static class MicroCommand
{
    public static Command Create()
    {
        var filter = new Option<string>("--filter") { Description = "BenchmarkDotNet glob over benchmark names.", DefaultValueFactory = _ => "*" };
        var command = new Command("micro", "BenchmarkDotNet micro-benchmarks of the hot CPU kernels.") { filter };
        command.SetAction(result =>
        {
            var config = ManualConfig.CreateMinimumViable()
                .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
                .WithOptions(ConfigOptions.DisableOptimizationsValidator);
            BenchmarkSwitcher.FromTypes([typeof(GemmKernelBenchmarks), typeof(Im2ColPackingBenchmarks), typeof(ParallelRegionBenchmarks)]).Run(["--filter", result.GetValue(filter)!], config);
            return 0;
        });
        return command;
    }
}
