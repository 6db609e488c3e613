using Astmt.Train.Experiments;
using Astmt.Train.Output;

namespace Astmt.Train.Cli;

/// <summary>What the command line runs against: the models, the console, the error stream, the stop signal and the clock.
/// The process uses the real ones; tests pass their own.</summary>
public sealed class CliEnvironment
{
    /// <summary>Known models.</summary>
    public required ExperimentRegistry Registry { get; init; }

    /// <summary>Progress, tables and messages.</summary>
    public required RunConsole Console { get; init; }

    /// <summary>Where help text goes.</summary>
    public required TextWriter Output { get; init; }

    /// <summary>Where one-line errors go.</summary>
    public required TextWriter Error { get; init; }

    /// <summary>Cancelled by Ctrl-C: training checkpoints after the current step and stops.</summary>
    public CancellationToken Stop { get; init; }

    /// <summary>The clock that names default run directories.</summary>
    public Func<DateTime> Now { get; init; } = () => DateTime.Now;
}
