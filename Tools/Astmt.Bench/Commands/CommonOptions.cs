using System.CommandLine;
using Astmt.Bench.Measurement;
using Astmt.Engine.Cpu;

namespace Astmt.Bench.Commands;

/// <summary>Options every timing command shares (<c>--threads</c>, <c>--warmup</c>, <c>--reps</c>, <c>--json</c>), so that
/// later commands (train-step, forward) read the same way.</summary>
internal sealed class CommonOptions
{
    public Option<int> Threads { get; } = new("--threads")
    {
        Description = "Threads the engine (and the reference) may use.",
        DefaultValueFactory = _ => Environment.ProcessorCount,
    };

    public Option<int> Warmup { get; } = new("--warmup")
    {
        Description = "Untimed runs before timing (JIT, page faults, caches).",
        DefaultValueFactory = _ => 2,
    };

    public Option<int> Reps { get; } = new("--reps")
    {
        Description = "Timed runs; the median is reported.",
        DefaultValueFactory = _ => 5,
    };

    public Option<FileInfo?> Json { get; } = new("--json") { Description = "Also write the results to this JSON file." };

    public Option<string> Clock { get; } = new("--clock")
    {
        Description = "wall (default) or thread-cpu (CPU time of the calling thread; --threads 1 only, for fair numbers on a shared machine).",
        DefaultValueFactory = _ => "wall",
    };

    public Option<string> Device { get; } = new("--device")
    {
        Description = "auto (default: cuda when a CUDA driver and GPU are present, else cpu), cpu, cuda, or emu (the CUDA kernels on the CPU emulator: verification only, very slow).",
        DefaultValueFactory = _ => "auto",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Device);
        command.Options.Add(Threads);
        command.Options.Add(Warmup);
        command.Options.Add(Reps);
        command.Options.Add(Json);
        command.Options.Add(Clock);
    }

    /// <summary>Reads and checks the shared values and applies the thread count to the engine.</summary>
    public RunSettings Read(ParseResult result)
    {
        int threads = result.GetValue(Threads), warmup = result.GetValue(Warmup), reps = result.GetValue(Reps);
        if (threads < 1) throw new ArgumentException($"--threads must be at least 1, got {threads}.");
        if (warmup < 0) throw new ArgumentException($"--warmup must be at least 0, got {warmup}.");
        if (reps < 1) throw new ArgumentException($"--reps must be at least 1, got {reps}.");
        var clock = result.GetValue(Clock) switch
        {
            "wall" => ClockKind.Wall,
            "thread-cpu" => ClockKind.ThreadCpu,
            var other => throw new ArgumentException($"--clock must be wall or thread-cpu, got '{other}'."),
        };
        if (clock == ClockKind.ThreadCpu && threads != 1)
            throw new ArgumentException($"--clock thread-cpu measures only the calling thread, so it needs --threads 1 (got {threads}).");
        Parallelism.Threads = threads;
        Sampler.Clock = clock;
        var device = BenchDevice.Initialize(result.GetValue(Device) ?? "auto");
        return new RunSettings(threads, warmup, reps, result.GetValue(Json), clock) { Device = device };
    }
}

/// <summary>The shared settings of one benchmark invocation.</summary>
internal sealed record RunSettings(int Threads, int Warmup, int Reps, FileInfo? Json, ClockKind Clock)
{
    /// <summary>Where the timed work runs (<c>--device</c>).</summary>
    public Astmt.Engine.Device Device { get; init; } = Astmt.Engine.Device.Cpu;
}
