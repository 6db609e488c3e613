using System.Diagnostics;
using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.Cpu;
using Astmt.Engine.Optim;
using Astmt.Models.Losses;
using Astmt.Models.Mtan;

int threads = args.Length > 0 ? int.Parse(args[0]) : 2;
int steps = args.Length > 1 ? int.Parse(args[1]) : 3;
bool profile = args.Length > 2 && args[2] == "prof";
Parallelism.Threads = threads;
if (Environment.GetEnvironmentVariable("BAND") is { } band)
{
    var t = typeof(Astmt.Engine.Tensor).Assembly.GetType("Astmt.Engine.Ops.Conv2dKernels")!;
    t.GetProperty("MaxBandElements", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public)!.SetValue(null, int.Parse(band));
    Console.WriteLine($"band {band}");
}
var net = MtanModels.Create("mtan-segnet");
net.Train();
int B = 2, H = 96, W = 128;
var rnd = new Random(0);
float[] xs = new float[B * 3 * H * W]; for (int i = 0; i < xs.Length; i++) xs[i] = (float)rnd.NextDouble();
var x = Tensor.FromArray(xs, B, 3, H, W);
long[] ls = new long[B * H * W]; for (int i = 0; i < ls.Length; i++) ls[i] = rnd.Next(13);
var label = Tensor.FromArray(ls, B, H, W);
float[] ds = new float[B * H * W]; for (int i = 0; i < ds.Length; i++) ds[i] = (float)rnd.NextDouble() + 0.5f;
var depth = Tensor.FromArray(ds, B, 1, H, W);
float[] ns = new float[B * 3 * H * W];
for (int i = 0; i < B * H * W; i++) { int b = i / (H * W), p = i % (H * W); double a = rnd.NextDouble() * 2 - 1, c = rnd.NextDouble() * 2 - 1, d = rnd.NextDouble() * 2 - 1; double n = Math.Sqrt(a * a + c * c + d * d); ns[(b * 3 + 0) * H * W + p] = (float)(a / n); ns[(b * 3 + 1) * H * W + p] = (float)(c / n); ns[(b * 3 + 2) * H * W + p] = (float)(d / n); }
var normal = Tensor.FromArray(ns, B, 3, H, W);
var gts = new[] { label, depth, normal };
var opt = new Adam(net.Parameters(), 1e-4);
Console.WriteLine($"params {net.Parameters().Sum(p => (long)p.Numel)}");
double lastCpu = 0; var cpus = new List<double>();
double fwdMs = 0, bwdMs = 0, optMs = 0;
(double, double, double, double) Step()
{
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    long t0 = Stopwatch.GetTimestamp();
    opt.ZeroGrad();
    OpProfiler.Reset();
    var o = net.Forward(x);
    Tensor loss = MtanLosses.For(net.Tasks[0], o.Predictions[0], gts[0]);
    for (int t = 1; t < 3; t++) loss = Astmt.Engine.Ops.F.Add(loss, MtanLosses.For(net.Tasks[t], o.Predictions[t], gts[t]));
    long t1 = Stopwatch.GetTimestamp();
    loss.Backward();
    long t2 = Stopwatch.GetTimestamp();
    opt.Step();
    long t3 = Stopwatch.GetTimestamp();
    double f = Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds, b = Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds, s = Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds;
    lastCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
    return (f + b + s, f, b, s);
}
for (int i = 0; i < 2; i++) Step();
var times = new List<double>();
int gc0 = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
long alloc0 = GC.GetTotalAllocatedBytes(true);
OpProfiler.Enabled = profile;
for (int i = 0; i < steps; i++)
{
    var (tot, f, b, s) = Step();
    times.Add(tot); cpus.Add(lastCpu); fwdMs += f; bwdMs += b; optMs += s;
    Console.WriteLine($"cpu {lastCpu:F0} ms; step {tot:F1} ms (fwd {f:F1} bwd {b:F1} adam {s:F1})");
}
OpProfiler.Enabled = false;
int gc1 = GC.CollectionCount(0) + GC.CollectionCount(1) + GC.CollectionCount(2);
long alloc1 = GC.GetTotalAllocatedBytes(true);
times.Sort(); cpus.Sort(); Console.WriteLine($"median process cpu {cpus[cpus.Count / 2]:F0} ms");
Console.WriteLine($"threads {threads} median {times[times.Count / 2]:F1} ms; fwd {fwdMs / steps:F1} bwd {bwdMs / steps:F1} adam {optMs / steps:F1}; GCs {gc1 - gc0}; alloc/step {(alloc1 - alloc0) / steps / 1024.0:F0} KiB; rss {Environment.WorkingSet >> 20} MB");
Console.WriteLine("peak " + File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmHWM")));
if (profile)
{
    double total = 0;
    foreach (var kv in OpProfiler.Totals.OrderByDescending(k => k.Value.Ticks))
    {
        double ms = kv.Value.Ticks * 1000.0 / OpProfiler.Frequency / steps;
        if (!kv.Key.StartsWith("  ")) total += ms;
        Console.WriteLine($"{kv.Key,-36} {ms,9:F1} ms  x{kv.Value.Count / steps}");
    }
    Console.WriteLine($"sum of ops {total:F1} ms");
}
