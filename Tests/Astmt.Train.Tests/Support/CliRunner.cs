using Astmt.Train.Cli;
using Astmt.Train.Experiments;
using Astmt.Train.Output;

namespace Astmt.Train.Tests.Support;

/// <summary>The outcome of one in-process command-line run.</summary>
public sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>Runs the trainer's command line in-process with captured output and a plain (non-terminal) console.</summary>
public static class CliRunner
{
    public static CliResult Run(ExperimentRegistry registry, params string[] args) => Run(registry, CancellationToken.None, args);

    public static CliResult Run(ExperimentRegistry registry, CancellationToken stop, params string[] args) =>
        Run(registry, stop, RunConsole.Plain, args);

    /// <summary>Runs with the console <paramref name="makeConsole"/> builds over the captured output.</summary>
    public static CliResult Run(ExperimentRegistry registry, CancellationToken stop, Func<TextWriter, RunConsole> makeConsole, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var env = new CliEnvironment
        {
            Registry = registry,
            Console = makeConsole(output),
            Output = output,
            Error = error,
            Stop = stop,
            Now = () => new DateTime(2026, 1, 2, 3, 4, 5),
        };
        int code = TrainCli.Run(args, env);
        return new CliResult(code, output.ToString(), error.ToString());
    }
}

/// <summary>A fresh temporary folder, deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "astmt-train-tests", Guid.NewGuid().ToString("N"));

    public TempDir() => Directory.CreateDirectory(Path);

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
