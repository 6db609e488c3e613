using Astmt.Train.Cli;
using Astmt.Train.Experiments;
using Astmt.Train.Output;

namespace Astmt.Train;

internal static class Program
{
    private static int Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        // The first Ctrl-C asks the trainer to finish its step and checkpoint; a second one ends the process at once.
        Console.CancelKeyPress += (_, e) =>
        {
            if (stop.IsCancellationRequested) return;
            e.Cancel = true;
            stop.Cancel();
            Console.Error.WriteLine("Stopping after the current step to write a checkpoint (press Ctrl-C again to abort at once)...");
        };
        // A job scheduler's SIGTERM gets the same treatment as Ctrl-C.
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            if (stop.IsCancellationRequested) return;
            context.Cancel = true;
            stop.Cancel();
            Console.Error.WriteLine("SIGTERM: stopping after the current step to write a checkpoint...");
        });
        var environment = new CliEnvironment
        {
            Registry = ExperimentRegistry.CreateDefault(),
            Console = RunConsole.ForProcess(),
            Output = Console.Out,
            Error = Console.Error,
            Stop = stop.Token,
        };
        return TrainCli.Run(args, environment);
    }
}
