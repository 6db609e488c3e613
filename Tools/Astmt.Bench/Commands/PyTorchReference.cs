using System.Diagnostics;
using System.Text.Json;

namespace Astmt.Bench.Commands;

/// <summary>
/// The PyTorch side of <c>--reference pytorch</c>: a long-lived <c>/usr/bin/python3 Tools/bench/pytorch_reference.py --serve</c>
/// process that builds the same model, inputs, losses and optimizer once, then runs one step per request, so its runs can
/// alternate with ours inside the same invocation. While ours runs, the Python process blocks on its input and uses no CPU.
/// </summary>
internal sealed class PyTorchReference : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly Process _process;

    private PyTorchReference(Process process, JsonElement ready)
    {
        _process = process;
        Parameters = ready.GetProperty("parameters").GetInt64();
        Engine = ready.GetProperty("engine").GetString() ?? "pytorch";
        Threads = ready.GetProperty("threads").GetInt32();
    }

    /// <summary>Trainable parameters of the reference model.</summary>
    public long Parameters { get; }

    /// <summary>The reference's engine and version, for example "pytorch 1.13.0".</summary>
    public string Engine { get; }

    /// <summary>torch.get_num_threads() of the reference.</summary>
    public int Threads { get; }

    /// <summary>Starts the reference for <paramref name="command"/> ("train-step" or "forward") and waits until the model is built.</summary>
    public static PyTorchReference Start(string command, IModelWorkload workload, int batch, int height, int width, int threads, string clock)
    {
        string script = FindScript();
        if (!File.Exists(Python)) throw new InvalidOperationException($"--reference pytorch needs {Python} with torch (Debian's python3-torch).");
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[script, command, "--batch", $"{batch}", "--height", $"{height}", "--width", $"{width}", "--threads", $"{threads}", "--clock", clock, "--serve"])
            info.ArgumentList.Add(arg);
        foreach (var arg in workload.ReferenceArguments) info.ArgumentList.Add(arg);
        // Both sides get the same thread budget: torch.set_num_threads covers its intra-op pool; these cover OpenMP/OpenBLAS.
        info.Environment["OMP_NUM_THREADS"] = $"{threads}";
        info.Environment["OPENBLAS_NUM_THREADS"] = $"{threads}";
        var process = Process.Start(info) ?? throw new InvalidOperationException($"--reference pytorch: could not start {Python} {script}.");
        var reference = new PyTorchReference(process, ReadLine(process, "start-up"));
        return reference;
    }

    /// <summary>Runs one step in the reference and returns its own timing of it in milliseconds (on the clock it was started with)
    /// and the CPU time all its threads spent.</summary>
    public (double Ms, double CpuMs) RunOnce()
    {
        _process.StandardInput.WriteLine("run");
        _process.StandardInput.Flush();
        var answer = ReadLine(_process, "run");
        return (answer.GetProperty("ms").GetDouble(), answer.GetProperty("cpu_ms").GetDouble());
    }

    /// <summary>The reference process's peak resident set (ru_maxrss) in MiB.</summary>
    public double PeakRssMb()
    {
        _process.StandardInput.WriteLine("stats");
        _process.StandardInput.Flush();
        return ReadLine(_process, "stats").GetProperty("peak_rss_mb").GetDouble();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("quit");
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(10_000)) _process.Kill();
            }
        }
        catch (IOException)
        {
            // The process already closed its pipes; nothing left to stop.
        }
        _process.Dispose();
    }

    private static JsonElement ReadLine(Process process, string what)
    {
        string? line = process.StandardOutput.ReadLine();
        if (line is null)
        {
            process.WaitForExit(5_000);
            throw new InvalidOperationException($"--reference pytorch: the reference script ended during {what} (exit code {(process.HasExited ? process.ExitCode : -1)}); its error output is above.");
        }
        using var doc = JsonDocument.Parse(line);
        if (doc.RootElement.TryGetProperty("error", out var error))
            throw new InvalidOperationException($"--reference pytorch: the reference script failed during {what}: {error}");
        return doc.RootElement.Clone();
    }

    /// <summary>Tools/bench/pytorch_reference.py, looked up from the working directory and from the binary upwards.</summary>
    private static string FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "Tools", "bench", "pytorch_reference.py");
                if (File.Exists(candidate)) return candidate;
            }
        throw new FileNotFoundException("--reference pytorch: Tools/bench/pytorch_reference.py not found above the working directory or the binary; run from the repository.");
    }
}
