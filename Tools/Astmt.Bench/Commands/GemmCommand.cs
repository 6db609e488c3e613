using System.CommandLine;
using Astmt.Bench.Measurement;
using Astmt.Bench.Reference;
using Astmt.Bench.Report;
using Astmt.Engine.Cpu;

namespace Astmt.Bench.Commands;

/// <summary>
/// <c>gemm</c>: times the engine's SGEMM on one shape (<c>--m --n --k --form</c>) or a suite (<c>--suite</c>), optionally
/// against OpenBLAS in the same process with alternating runs, and reports ms, GFLOP/s, the fraction of the measured FMA
/// peak and the ratio (OpenBLAS ms / ours; above 1 means we are faster).
/// </summary>
internal static class GemmCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var m = new Option<int?>("--m") { Description = "Rows of op(A) and C." };
        var n = new Option<int?>("--n") { Description = "Columns of op(B) and C." };
        var k = new Option<int?>("--k") { Description = "Inner dimension." };
        var form = new Option<string>("--form") { Description = "Transpose form for a single shape: nn, nt, tn or tt.", DefaultValueFactory = _ => "nn" };
        var suite = new Option<string?>("--suite") { Description = $"A shape suite instead of --m/--n/--k: {string.Join(", ", GemmShapes.SuiteNames)}." };
        var forms = new Option<string>("--forms") { Description = "Forms to run for a suite, comma-separated (nn = conv forward, tn = backward-data, nt = backward-weight).", DefaultValueFactory = _ => "nn" };
        var reference = new Option<string?>("--reference") { Description = "Compare with a reference implementation: openblas." };
        var kernel = new Option<GemmKernel>("--kernel") { Description = "Force a microkernel: Auto, Avx512, Avx2, Vector128.", DefaultValueFactory = _ => GemmKernel.Auto };
        var command = new Command("gemm", "Time SGEMM (C = A·B) on one shape or a suite, optionally against OpenBLAS.") { m, n, k, form, suite, forms, reference, kernel };
        common.AddTo(command);
        command.SetAction(result =>
        {
            var settings = common.Read(result);
            Gemm.Kernel = result.GetValue(kernel);
            var cases = Cases(result.GetValue(m), result.GetValue(n), result.GetValue(k), result.GetValue(form)!, result.GetValue(suite), result.GetValue(forms)!);
            string? refName = result.GetValue(reference);
            if (refName is not null && refName != "openblas")
                throw new ArgumentException($"--reference: only 'openblas' is available for gemm, got '{refName}'.");
            return Run(settings, cases, refName is not null);
        });
        return command;
    }

    private static IReadOnlyList<GemmCase> Cases(int? m, int? n, int? k, string form, string? suite, string forms)
    {
        if (suite is not null)
        {
            if (m is not null || n is not null || k is not null) throw new ArgumentException("gemm: give either --suite or --m/--n/--k, not both.");
            return GemmShapes.Suite(suite, forms.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        if (m is not { } mv || n is not { } nv || k is not { } kv) throw new ArgumentException("gemm: --m, --n and --k are all required without --suite.");
        if (mv < 1 || nv < 1 || kv < 1) throw new ArgumentException($"gemm: sizes must be positive, got m={mv}, n={nv}, k={kv}.");
        if (form is not ("nn" or "nt" or "tn" or "tt")) throw new ArgumentException($"--form must be nn, nt, tn or tt, got '{form}'.");
        return [new GemmCase($"{mv}x{nv}x{kv}", form, mv, nv, kv)];
    }

    private static int Run(RunSettings settings, IReadOnlyList<GemmCase> cases, bool withOpenBlas)
    {
        var (peak, width) = FmaPeak.PerCoreTimesThreads(settings.Threads);
        Console.WriteLine($"gemm: kernel {Gemm.ActiveKernel}, threads {settings.Threads}, warm-up {settings.Warmup}, median of {settings.Reps}, clock {settings.Clock}");
        Console.WriteLine($"measured FMA peak ({width}): {peak / settings.Threads:F1} GFLOP/s per core × {settings.Threads} thread(s) = {peak:F1} GFLOP/s");
        string? core = null;
        if (withOpenBlas)
        {
            OpenBlas.EnsureAvailable();
            OpenBlas.SetThreads(settings.Threads);
            core = OpenBlas.CoreName();
            Console.WriteLine($"reference: OpenBLAS {OpenBlas.Config().Trim()} (core {core}), {settings.Threads} thread(s), runs alternate with ours");
        }
        var table = new ConsoleTable(("shape", 34, true), ("form", 4, true), ("M", 6, false), ("N", 6, false), ("K", 6, false),
            ("ours ms", 9, false), ("GFLOP/s", 8, false), ("%peak", 6, false), ("blas ms", 9, false), ("GFLOP/s", 8, false), ("ratio", 6, false), ("max rel diff", 12, false));
        table.PrintHeader();
        var rows = new List<GemmRow>();
        var rng = new Random(1);
        foreach (var g in cases)
        {
            // The previous case's matrices are garbage now; collecting here, outside the timed runs, keeps the peak RSS
            // that of the largest case rather than of the whole suite.
            GC.Collect();
            GC.WaitForPendingFinalizers();
            int lda = g.TransA ? g.M : g.K, ldb = g.TransB ? g.K : g.N;
            var a = Random(rng, g.M * g.K);
            var b = Random(rng, g.K * g.N);
            var c = new float[g.M * g.N];
            var cRef = withOpenBlas ? new float[g.M * g.N] : null;
            Action ours = () => Gemm.Sgemm(g.TransA ? Transpose.Yes : Transpose.No, g.TransB ? Transpose.Yes : Transpose.No,
                g.M, g.N, g.K, 1f, a, lda, b, ldb, 0f, c, g.N);
            Action? reference = cRef is null ? null : () => OpenBlas.Sgemm(g.TransA, g.TransB, g.M, g.N, g.K, 1f, a, lda, b, ldb, 0f, cRef, g.N);
            // Three rounds of alternation; within a block the product runs back to back, as a caller issuing several in a row would.
            var (s, r) = Sampler.Alternate(ours, reference, settings.Warmup, settings.Reps, block: (settings.Reps + 2) / 3, Changeover.OutlastSpinningThreads);
            double gf = s.GflopPerS(g.Flops);
            double? diff = cRef is null ? null : MaxRelativeDifference(c, cRef);
            var row = new GemmRow(g.Name, g.Form, g.M, g.N, g.K, s.MedianMs, s.MinMs, gf, gf / peak, s.GcCollections,
                r is null ? null : new GemmReference("openblas", r.MedianMs, r.MinMs, r.GflopPerS(g.Flops)), r is null ? null : r.MedianMs / s.MedianMs, diff);
            rows.Add(row);
            table.PrintRow(g.Name, g.Form, $"{g.M}", $"{g.N}", $"{g.K}", $"{s.MedianMs:F3}", $"{gf:F1}", $"{100 * gf / peak:F0}%",
                r is null ? "-" : $"{r.MedianMs:F3}", r is null ? "-" : $"{r.GflopPerS(g.Flops):F1}", row.Ratio is { } q ? $"{q:F2}" : "-", diff is { } d ? $"{d:E1}" : "-");
        }
        double rss = ProcessMemory.PeakRssMb();
        int gcs = rows.Sum(x => x.GcCount);
        Console.WriteLine($"peak RSS {rss:F0} MB; GC collections during timed runs of ours: {gcs}");
        if (withOpenBlas)
        {
            double geo = Math.Exp(rows.Average(x => Math.Log(x.Ratio!.Value)));
            Console.WriteLine($"geometric-mean ratio (OpenBLAS ms / ours): {geo:F2}");
        }
        JsonReport.Write(settings.Json, new GemmReport("gemm", Gemm.ActiveKernel.ToString(), settings.Threads, settings.Warmup, settings.Reps, settings.Clock.ToString(),
            peak, width, rss, gcs, core, rows));
        return 0;
    }

    private static float[] Random(Random rng, int count)
    {
        var data = GC.AllocateUninitializedArray<float>(count);
        for (int i = 0; i < count; i++) data[i] = (float)(rng.NextDouble() * 2 - 1);
        return data;
    }

    /// <summary>Largest |ours − reference| relative to the largest |reference| (a scale-free sanity check, not a test).</summary>
    private static double MaxRelativeDifference(float[] ours, float[] reference)
    {
        double maxDiff = 0, maxRef = 1e-30;
        for (int i = 0; i < ours.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)ours[i] - reference[i]));
            maxRef = Math.Max(maxRef, Math.Abs((double)reference[i]));
        }
        return maxDiff / maxRef;
    }

    private sealed record GemmReference(string Name, double Ms, double BestMs, double GflopPerS);

    private sealed record GemmRow(string Shape, string Form, int M, int N, int K, double Ms, double BestMs, double GflopPerS, double PeakFraction, int GcCount,
        GemmReference? Reference, double? Ratio, double? MaxRelDiff);

    private sealed record GemmReport(string Command, string Kernel, int Threads, int Warmup, int Reps, string Clock, double PeakGflopPerS, string PeakWidth,
        double PeakRssMb, int GcCount, string? ReferenceCore, IReadOnlyList<GemmRow> Results);
}
