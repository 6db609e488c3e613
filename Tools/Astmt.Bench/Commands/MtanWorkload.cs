using System.Diagnostics;
using Astmt.Engine;
using Astmt.Engine.Diagnostics;
using Astmt.Engine.Memory;
using Astmt.Engine.Autograd;
using Astmt.Engine.Ops;
using Astmt.Engine.Optim;
using Astmt.Models.Losses;
using Astmt.Models.Mtan;

namespace Astmt.Bench.Commands;

/// <summary>
/// An MTAN-family network (NYUv2 tasks: 13-class semantic, depth, normal) as the reference trains it: forward, the task losses
/// summed with equal weights (one loss for single-task networks), backward, Adam (lr 1e-4, betas 0.9/0.999, eps 1e-8).
/// </summary>
internal sealed class MtanWorkload : IModelWorkload
{
    private const int Classes = 13;
    private readonly MultiTaskNetwork _network;
    private readonly Adam _optimizer;
    private readonly Tensor _images;
    private readonly Dictionary<MtanTask, Tensor> _truths;

    public MtanWorkload(string model, int batch, int height, int width, Device device)
    {
        if (height % 32 != 0 || width % 32 != 0)
            throw new ArgumentException($"--height and --width must be multiples of 32 for the MTAN SegNets (five 2x poolings), got {height}x{width}.");
        Model = model;
        _network = MtanModels.Create(model, new MtanModelOptions { ClassCount = Classes });
        // Counted on the host (cheap there; a 32x32 probe forward on the emulator is not), then moved before the optimizer: it
        // binds the moved parameters and keeps its state on their device.
        ForwardMacsPerBatch = MtanModels.MultiplyAccumulatesPerImage(_network, height, width) * batch;
        _network.To(device); // before the optimizer: it binds the (moved) parameters and keeps its state on their device
        var trainable = _network.Parameters().Where(p => p.RequiresGrad).ToArray();
        Parameters = trainable.Sum(p => (long)p.Numel);
        _optimizer = new Adam(trainable, 1e-4);
        var rng = new Random(0);
        _images = ModelWorkloads.Uniform(rng, 0, 1, batch, 3, height, width).To(device);
        _truths = new Dictionary<MtanTask, Tensor>
        {
            [MtanTask.Semantic] = ModelWorkloads.Labels(rng, Classes, batch, height, width),
            [MtanTask.Depth] = ModelWorkloads.Uniform(rng, 0.5, 1.5, batch, 1, height, width),
            [MtanTask.Normal] = ModelWorkloads.UnitNormals(rng, batch, height, width),
        };
        foreach (var task in _truths.Keys.ToArray()) _truths[task] = _truths[task].To(device);
    }

    public string Model { get; }

    /// <summary>With the profiler on: MiB the buffer pool had rented out when the last forward pass and losses were done (weights,
    /// gradients, optimizer state and the graph's activations), for comparing with the pool's total.</summary>
    public double? RentedAfterForwardMb { get; private set; }

    public long Parameters { get; }

    public long ForwardMacsPerBatch { get; }

    public string FlopConvention =>
        "FLOPs = 2 x conv/linear MACs (FlopCounter via MtanModels.MultiplyAccumulatesPerImage); a training step counts 3 x forward (forward, backward-data, backward-weight)";

    public IReadOnlyList<string> ReferenceArguments => ["--model", Model, "--classes", $"{Classes}"];

    public void TrainStep()
    {
        _network.Train();
        _optimizer.ZeroGrad();
        var output = _network.Forward(_images);
        Tensor? total = null;
        for (int t = 0; t < output.Predictions.Count; t++)
        {
            var loss = MtanLosses.For(_network.Tasks[t], output.Predictions[t], _truths[_network.Tasks[t]]);
            total = total is null ? loss : F.Add(total, loss);
        }
        if (OpProfiler.Enabled) RentedAfterForwardMb = BufferPool.RentedBytes / 1048576.0;
        long t0 = Stopwatch.GetTimestamp(), b0 = GC.GetAllocatedBytesForCurrentThread();
        total!.Backward();
        long t1 = Stopwatch.GetTimestamp(), b1 = GC.GetAllocatedBytesForCurrentThread();
        _optimizer.Step();
        if (OpProfiler.Enabled)
        {
            // Whole phases next to the per-op entries: backward as a whole (node time plus gradient accumulation) and the update.
            OpProfiler.Add("phase: backward (all)", t1 - t0, b1 - b0);
            OpProfiler.Add("phase: optimizer step", Stopwatch.GetTimestamp() - t1, GC.GetAllocatedBytesForCurrentThread() - b1);
        }
    }

    public void Forward()
    {
        _network.Eval();
        using (Autograd.NoGrad())
        {
            var output = _network.Forward(_images);
            foreach (var p in output.Predictions) p.Dispose();
        }
    }

    public void Dispose()
    {
        _images.Dispose();
        foreach (var t in _truths.Values) t.Dispose();
    }
}
