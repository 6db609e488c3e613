using System.CommandLine;
using System.Diagnostics;
using Astmt.Bench.Measurement;
using Astmt.Bench.Report;
using Astmt.Engine.Cpu;
using Astmt.Engine.Cuda;
using Astmt.Engine.Diagnostics;
using Astmt.Engine.Memory;

namespace Astmt.Bench.Commands;

/// <summary>
/// <c>train-step</c> and <c>forward</c>: time a full training step (forward, losses, backward, optimizer step) or an eval-mode
/// forward pass of a whole model, optionally against PyTorch running the same model, shapes and optimizer in a helper process
/// with runs alternating (ours, theirs, ours, …). Reports the median step time, images/s, GFLOP/s and its fraction of the measured
/// FMA peak, peak RSS, GC collections during the timed steps, and the ratio (PyTorch ms / ours; above 1 means we are faster).
/// With <c>ASTMT_PROFILE=1</c> it also prints where our timed steps spent their time, per op.
/// </summary>
internal static class ModelStepCommand
{
    /// <summary>The <c>train-step</c> command.</summary>
    public static Command CreateTrainStep() => Create("train-step", "Time a full training step of a model (forward, losses, backward, optimizer step), optionally against PyTorch.", training: true);

    /// <summary>The <c>forward</c> command.</summary>
    public static Command CreateForward() => Create("forward", "Time eval-mode inference of a model (no graph), optionally against PyTorch.", training: false);

    private static Command Create(string name, string description, bool training)
    {
        var common = new CommonOptions();
        common.Reps.Aliases.Add("--steps");
        common.Warmup.DefaultValueFactory = _ => 1;
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(", ", ModelWorkloads.Names)}.", DefaultValueFactory = _ => "mtan-segnet" };
        var batch = new Option<int>("--batch") { Description = "Images per batch.", DefaultValueFactory = _ => 2 };
        var height = new Option<int>("--height") { Description = "Image height (a multiple of 32 for the SegNets).", DefaultValueFactory = _ => 96 };
        var width = new Option<int>("--width") { Description = "Image width (a multiple of 32 for the SegNets).", DefaultValueFactory = _ => 128 };
        var reference = new Option<string?>("--reference") { Description = "Compare with a reference implementation in the same run: pytorch." };
        var kernels = new Option<bool>("--kernels") { Description = "On a device (cuda, emu): also time every kernel launch (events around it) and print the time per kernel." };
        var command = new Command(name, description) { model, batch, height, width, reference, kernels };
        common.AddTo(command);
        command.SetAction(result =>
        {
            var settings = common.Read(result);
            string? refName = result.GetValue(reference);
            if (refName is not null && refName != "pytorch")
                throw new ArgumentException($"--reference: only 'pytorch' is available for {name}, got '{refName}'.");
            var shape = new StepShape(result.GetValue(model)!, result.GetValue(batch), result.GetValue(height), result.GetValue(width));
            bool perKernel = result.GetValue(kernels);
            if (perKernel && settings.Device.IsCpu)
                throw new ArgumentException($"--kernels times device kernel launches: it needs --device cuda or emu (the device is {settings.Device}). On the CPU use ASTMT_PROFILE=1 for a per-op profile.");
            return Run(name, training, settings, shape, refName is not null, perKernel);
        });
        return command;
    }

    private static int Run(string command, bool training, RunSettings settings, StepShape shape, bool withPyTorch, bool perKernel)
    {
        using var workload = ModelWorkloads.Create(shape.Model, shape.Batch, shape.Height, shape.Width, settings.Device);
        double flops = 2.0 * workload.ForwardMacsPerBatch * (training ? 3 : 1);
        var (peak, peakWidth) = FmaPeak.PerCoreTimesThreads(settings.Threads);
        Console.WriteLine($"{command}: {shape.Model}, batch {shape.Batch}, {shape.Height}x{shape.Width}, threads {settings.Threads}, warm-up {settings.Warmup}, median of {settings.Reps}, clock {settings.Clock}, device {settings.Device}");
        Console.WriteLine($"parameters: {workload.Parameters:N0}; {flops / 1e9:F2} GFLOP per {(training ? "step" : "forward")} ({workload.FlopConvention})");
        Console.WriteLine($"measured FMA peak ({peakWidth}): {peak / settings.Threads:F1} GFLOP/s per core x {settings.Threads} thread(s) = {peak:F1} GFLOP/s");

        using var pytorch = withPyTorch ? PyTorchReference.Start(command, workload, shape.Batch, shape.Height, shape.Width, settings.Threads,
            settings.Clock == ClockKind.ThreadCpu ? "thread-cpu" : "wall") : null;
        if (pytorch is not null)
        {
            Console.WriteLine($"reference: {pytorch.Engine}, {pytorch.Threads} thread(s), parameters {pytorch.Parameters:N0}; runs alternate with ours");
            if (pytorch.Parameters != workload.Parameters)
                throw new InvalidOperationException($"--reference pytorch: the reference model has {pytorch.Parameters:N0} parameters but ours has {workload.Parameters:N0}; they must be the same model.");
            Console.WriteLine("parameter counts agree.");
        }

        Action step = training ? workload.TrainStep : workload.Forward;
        // On a device the step is also timed on the device's own clock (CUDA events on the stream; the host clock on the emulator).
        using var device = settings.Device.IsCpu ? null : new DeviceStepProfiler(BenchDevice.Context(settings.Device), perKernel);
        if (device is not null)
            Console.WriteLine($"device time: {device.Clock}{(perKernel ? "; every kernel launch timed the same way (--kernels)" : "")}");
        var deviceMs = new List<double>();
        int calls = 0;
        long arraysAtTimedStart = 0;
        var regionsAtTimedStart = default(ParallelRegionCounts);
        var oursCpuMs = new List<double>();
        Action ours = () =>
        {
            // The profile covers the timed steps only: warm-up (JIT, first-touch allocation) would dominate it otherwise.
            if (++calls == settings.Warmup + 1)
            {
                arraysAtTimedStart = BufferPool.ArraysCreated;
                regionsAtTimedStart = Parallelism.Counts;
                if (OpProfiler.Enabled) OpProfiler.Reset();
                device?.Reset();
            }
            OpProfiler.Mark();
            var cpu0 = Environment.CpuUsage.TotalTime;
            long allocated0 = GC.GetTotalAllocatedBytes(precise: true), arrays0 = BufferPool.ArraysCreated;
            int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
            long t0 = Stopwatch.GetTimestamp();
            if (device is null) step();
            else deviceMs.Add(device.TimeStep(step)); // waits for the step's kernels: a device step ends when they have run
            double wall = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            // Managed bytes of all threads: what drives gen0 collections (the pool's pinned arrays are counted when created only).
            double allocatedKb = (GC.GetTotalAllocatedBytes(precise: true) - allocated0) / 1024.0;
            oursCpuMs.Add((Environment.CpuUsage.TotalTime - cpu0).TotalMilliseconds);
            Console.WriteLine($"  ours    {Phase(oursCpuMs.Count, settings.Warmup)}: {wall,10:F1} ms wall, {oursCpuMs[^1],10:F1} ms CPU" +
                              (device is null ? "" : $", {deviceMs[^1],10:F1} ms device") +
                              $", {allocatedKb,8:F0} KB managed allocated ({BufferPool.ArraysCreated - arrays0} pool arrays), " +
                              $"GCs gen0/1/2 {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}");
        };
        var referenceMs = new List<double>();
        var referenceCpuMs = new List<double>();
        Action? theirs = pytorch is null ? null : () =>
        {
            var (ms, cpuMs) = pytorch.RunOnce();
            referenceMs.Add(ms);
            referenceCpuMs.Add(cpuMs);
            Console.WriteLine($"  pytorch {Phase(referenceMs.Count, settings.Warmup)}: {ms,10:F1} ms ({settings.Clock}), {cpuMs,10:F1} ms CPU");
        };
        using var memoryTrace = MemoryTrace.Enabled ? new MemoryTrace() : null;
        // One step per block, after a pause that lets the PyTorch process's OpenMP and OpenBLAS threads stop spinning.
        var (sample, _) = Sampler.Alternate(ours, theirs, settings.Warmup, settings.Reps, block: 1, new Changeover(PauseMs: 250, BusyMs: 0));
        double rss = ProcessMemory.PeakRssMb();
        if (memoryTrace is not null) Console.WriteLine(memoryTrace.Format());
        long arraysCreated = BufferPool.ArraysCreated - arraysAtTimedStart;
        var regions = Parallelism.Counts.Since(regionsAtTimedStart);
        Console.WriteLine($"host pool: {BufferPool.CreatedBytes >> 20} MB created, peak rented {BufferPool.PeakRentedBytes >> 20} MB, {BufferPool.ArraysCreated} arrays; " +
            $"{BufferPool.ResidentBytes >> 20} MB resident now, {BufferPool.ReleasedBytes >> 20} MB of idle pages released to the OS in all");

        var oursResult = new StepResult("astmt-native", workload.Parameters, settings.Threads, sample.MedianMs, sample.MinMs, sample.MaxMs,
            Median([.. oursCpuMs.Skip(settings.Warmup)]),
            shape.Batch * 1000.0 / sample.MedianMs, flops / (sample.MedianMs * 1e6), flops / (sample.MedianMs * 1e6) / peak, rss, sample.GcCollections, null);
        StepResult? refResult = null;
        if (pytorch is not null)
        {
            // The reference's own timings of its step (perf_counter inside Python), without the pipe round trip; warm-up runs dropped.
            var timed = referenceMs.Skip(settings.Warmup).ToArray();
            double median = Median(timed);
            refResult = new StepResult(pytorch.Engine, pytorch.Parameters, pytorch.Threads, median, timed.Min(), timed.Max(),
                Median([.. referenceCpuMs.Skip(settings.Warmup)]),
                shape.Batch * 1000.0 / median, flops / (median * 1e6), flops / (median * 1e6) / peak, pytorch.PeakRssMb(), null, median / sample.MedianMs);
        }

        var table = new ConsoleTable(("engine", 18, true), ("ms/step", 10, false), ("min", 10, false), ("max", 10, false), ("cpu ms", 10, false), ("img/s", 7, false),
            ("GFLOP/s", 8, false), ("%peak", 6, false), ("peak RSS MB", 11, false), ("GCs", 4, false));
        table.PrintHeader();
        foreach (var r in refResult is null ? [oursResult] : new[] { oursResult, refResult })
            table.PrintRow(r.Engine, $"{r.MsPerStep:F1}", $"{r.MsMin:F1}", $"{r.MsMax:F1}", $"{r.CpuMsPerStep:F1}", $"{r.ImagesPerS:F2}", $"{r.GflopPerS:F1}",
                $"{100 * r.PeakFraction:F0}%", $"{r.PeakRssMb:F0}", r.GcCount is { } g ? $"{g}" : "-");
        if (refResult is not null)
            Console.WriteLine($"ratio (PyTorch ms / ours): {refResult.Ratio:F2} ({(refResult.Ratio >= 1 ? "we are faster" : "PyTorch is faster")})");
        Console.WriteLine($"ours: buffer pool created {arraysCreated} arrays during the timed steps (0 = steady state), holds {BufferPool.CreatedBytes / 1048576.0:F0} MB " +
            $"({BufferPool.RentedBytes / 1048576.0:F0} MB rented, {BufferPool.PooledBytes / 1048576.0:F0} MB pooled)");
        if (settings.Device.IsCpu && regions.Regions > 0)
            Console.WriteLine($"ours: {regions.Regions / (double)settings.Reps:F0} parallel regions per step; workers ran {100.0 * regions.WorkerParts / regions.Parts:F0}% of their parts; " +
                $"the caller waited for a worker at the end of {100.0 * regions.CallerWaits / regions.Regions:F0}% of them");
        if (workload is MtanWorkload { RentedAfterForwardMb: { } afterForward })
            Console.WriteLine($"ours: {afterForward:F0} MB rented when forward and losses were done (before backward)");
        if (OpProfiler.Enabled) Console.Write(OpProfiler.Format(settings.Reps));
        double? deviceMedian = device is null ? null : Median([.. deviceMs.Skip(settings.Warmup)]);
        KernelRow[]? kernelRows = null;
        if (device is not null)
        {
            Console.WriteLine($"ours: {deviceMedian:F1} ms per step on the device ({device.Clock}), median of {device.Steps}");
            if (device.PerKernel) kernelRows = PrintKernels(device);
        }

        JsonReport.Write(settings.Json, new StepReport(command, shape.Model, shape.Batch, shape.Height, shape.Width, settings.Threads, settings.Warmup, settings.Reps,
            settings.Clock.ToString(), workload.Parameters, workload.FlopConvention, flops / 1e9, peak, peakWidth,
            oursResult.MsPerStep, oursResult.MsMin, oursResult.MsMax, oursResult.CpuMsPerStep, oursResult.ImagesPerS, oursResult.GflopPerS, oursResult.PeakFraction, rss, sample.GcCollections,
            arraysCreated, BufferPool.CreatedBytes / 1048576.0, refResult, refResult?.Ratio, DateTime.UtcNow.ToString("u"), Environment.MachineName,
            settings.Device.ToString(), device?.Clock, deviceMedian, kernelRows));
        return 0;
    }

    // The per-kernel table of the timed steps: launches and milliseconds per step, mean per launch, and share of the device step time.
    private static KernelRow[] PrintKernels(DeviceStepProfiler device)
    {
        int steps = Math.Max(1, device.Steps);
        var rows = device.Kernels.Select(k => new KernelRow(k.Name, k.Launches / (double)steps, k.TotalMs / steps, k.MeanUs,
            device.TotalStepMs > 0 ? k.TotalMs / device.TotalStepMs : 0)).ToArray();
        Console.WriteLine($"kernels, per step (mean of {device.Steps} timed steps; {device.Clock}):");
        var table = new ConsoleTable(("kernel", 34, true), ("launches", 9, false), ("total ms", 10, false), ("mean us", 10, false), ("share", 7, false));
        table.PrintHeader();
        foreach (var r in rows)
            table.PrintRow(r.Name, $"{r.LaunchesPerStep:F0}", $"{r.TotalMsPerStep:F2}", $"{r.MeanUs:F1}", $"{100 * r.ShareOfStep:F1}%");
        double covered = rows.Sum(r => r.ShareOfStep);
        Console.WriteLine($"{rows.Sum(r => r.LaunchesPerStep):F0} launches per step; kernels cover {100 * covered:F1}% of the device step time " +
                          "(the rest: copies, memsets, gaps between launches, and the timing events themselves)");
        return rows;
    }

    private static string Phase(int run, int warmup) => run <= warmup ? $"warm-up {run}" : $"run {run - warmup}";

    private static double Median(double[] values)
    {
        if (values.Length == 0) throw new InvalidOperationException("Median of no values.");
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }

    private sealed record StepShape(string Model, int Batch, int Height, int Width);

    /// <summary>One side's figures; the reference adds <c>ratio</c> (its ms over ours). <c>cpu_ms_per_step</c> is the median CPU time of
    /// all the process's threads per step, a load-robust measure of the work done (it includes any spin-waiting).</summary>
    internal sealed record StepResult(string Engine, long Parameters, int Threads, double MsPerStep, double MsMin, double MsMax, double CpuMsPerStep,
        double ImagesPerS, double GflopPerS, double PeakFraction, double PeakRssMb, int? GcCount, double? Ratio);

    /// <summary>The JSON of <c>train-step</c>/<c>forward</c>: ms_per_step is the median; gflop_per_s follows the printed FLOP convention.</summary>
    internal sealed record StepReport(string Command, string Model, int Batch, int Height, int Width, int Threads, int Warmup, int Steps, string Clock,
        long Parameters, string FlopConvention, double GflopPerStep, double FmaPeakGflopPerS, string FmaPeakWidth,
        double MsPerStep, double MsMin, double MsMax, double CpuMsPerStep, double ImagesPerS, double GflopPerS, double PeakFraction, double PeakRssMb,
        int GcCount, long PoolArraysCreatedTimed, double PoolCreatedMb, StepResult? Reference, double? Ratio, string MeasuredUtc, string Machine,
        string Device, string? DeviceClock, double? DeviceMsPerStep, KernelRow[]? Kernels);

    /// <summary>One kernel's line of <c>--kernels</c>: launches and total milliseconds per timed step, mean microseconds per launch, and
    /// its share of the device step time.</summary>
    internal sealed record KernelRow(string Name, double LaunchesPerStep, double TotalMsPerStep, double MeanUs, double ShareOfStep);
}
