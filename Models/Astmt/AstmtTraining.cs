using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.Ops;
using Astmt.Engine.Optim;
using Astmt.Models.Losses;

namespace Astmt.Models.Astmt;

/// <summary>How the tasks of one mini-batch update the weights.</summary>
public enum AstmtStepMode
{
    /// <summary>The reference's (default): one optimizer step per task on the same images, gradients not summed, momentum carried
    /// between them; parameters outside a task's graph (other tasks' norms, SE, adapters, heads) have no gradient and are skipped
    /// entirely, weight decay and momentum included (spec §7.1-2). It is the default because the published results use it.</summary>
    PerTask,
    /// <summary>Each task's loss backpropagated into the same gradients, then one step (the usual multi-task recipe).</summary>
    Summed,
}

/// <summary>The reference's optimisation (spec §5, issue 6 item 3): SGD with momentum 0.9 and weight decay 1e-4, base rate 0.001,
/// task-specific parameters at T× the rate, the discriminator at 10×, and a poly schedule of power 0.9. The reference built its
/// poly schedule but never applied it (spec §7.4); here it is applied, per iteration, through <see cref="PolyLR"/>.</summary>
public static class AstmtTraining
{
    /// <summary>Base learning rate.</summary>
    public const double BaseLearningRate = 0.001;

    /// <summary>SGD momentum.</summary>
    public const double Momentum = 0.9;

    /// <summary>Weight decay (on every parameter, norms and SE included, as the reference).</summary>
    public const double WeightDecay = 1e-4;

    /// <summary>Learning-rate multiplier of the discriminator.</summary>
    public const double DiscriminatorMultiplier = 10;

    /// <summary>True when parameter <paramref name="name"/> belongs to one task: a path segment is a task name (per-task norms, SE,
    /// adapters, heads). The reference tests <c>name.find(task) &gt; 0</c>; matching whole segments gives the same set for its names.</summary>
    public static bool IsTaskSpecific(string name, IReadOnlyList<string> tasks)
    {
        foreach (var segment in name.Split('.'))
            foreach (var t in tasks)
                if (segment == t) return true;
        return false;
    }

    /// <summary>The parameter groups: "shared" at the base rate, "task" at <paramref name="taskMultiplier"/> (default T) times it, and
    /// "discriminator" at 10 times it (absent without a discriminator). Each parameter is in exactly one group.</summary>
    public static IReadOnlyList<ParamGroup> ParameterGroups(AstmtNetwork network, double baseLearningRate = BaseLearningRate, double? taskMultiplier = null)
    {
        var tasks = network.Tasks;
        double multiplier = taskMultiplier ?? tasks.Count;
        var shared = new List<(string, Tensor)>();
        var specific = new List<(string, Tensor)>();
        var discriminator = new List<(string, Tensor)>();
        foreach (var (name, p) in network.NamedParameters())
        {
            if (name.StartsWith("discriminator.", StringComparison.Ordinal)) discriminator.Add((name, p));
            else if (IsTaskSpecific(name, tasks)) specific.Add((name, p));
            else shared.Add((name, p));
        }
        var groups = new List<ParamGroup>
        {
            new(shared, baseLearningRate, name: "shared"),
            new(specific, baseLearningRate * multiplier, name: "task"),
        };
        if (discriminator.Count > 0) groups.Add(new ParamGroup(discriminator, baseLearningRate * DiscriminatorMultiplier, name: "discriminator"));
        return groups;
    }

    /// <summary>SGD (momentum 0.9, weight decay 1e-4) over <see cref="ParameterGroups"/>.</summary>
    public static Sgd CreateOptimizer(AstmtNetwork network, double baseLearningRate = BaseLearningRate, double? taskMultiplier = null) =>
        new(ParameterGroups(network, baseLearningRate, taskMultiplier), baseLearningRate, Momentum, weightDecay: WeightDecay);

    /// <summary>The poly schedule lr·(1 − iter/max)^0.9, stepped once per iteration.</summary>
    public static PolyLR CreateSchedule(Optimizer optimizer, int totalIterations) => new(optimizer, totalIterations, 0.9);

    /// <summary>
    /// One training iteration on a batch: for each task whose ground truth is not entirely void (the reference skips those), the
    /// adversarial losses of <see cref="AstmtAdversarial.Losses"/>, backpropagated once, with <paramref name="mode"/> deciding whether
    /// each task steps the optimizer or the gradients are summed into one step. Returns each task's values (read before the graph is freed).
    /// </summary>
    public static IReadOnlyList<AstmtTaskStep> TrainStep(AstmtNetwork network, Optimizer optimizer, Tensor images,
        IReadOnlyDictionary<string, Tensor> groundTruths, double alpha, AstmtStepMode mode = AstmtStepMode.PerTask, bool adversarial = true)
    {
        network.Train();
        var results = new List<AstmtTaskStep>();
        if (mode == AstmtStepMode.Summed) ReleaseGradients(optimizer);
        foreach (var task in network.Tasks)
        {
            if (!groundTruths.TryGetValue(task, out var gt))
                throw new ArgumentException($"AstmtTraining.TrainStep: no ground truth for task '{task}'; got {string.Join(", ", groundTruths.Keys)}.");
            if (AllVoid(gt)) continue;
            if (mode == AstmtStepMode.PerTask) ReleaseGradients(optimizer);
            var losses = AstmtAdversarial.Losses(network, images, gt, task, alpha, adversarial);
            var step = new AstmtTaskStep(task, losses.Task.Item(), losses.Discriminator?.Item(), DiscriminatorAccuracy(losses));
            losses.Total.Backward();
            losses.Total.Dispose(); // the scalar Backward hands back to its caller
            losses.DiscriminatorLabels?.Dispose(); // computed without a graph (the loss's backward read it): nothing else frees it
            if (mode == AstmtStepMode.PerTask) optimizer.Step();
            results.Add(step);
        }
        if (mode == AstmtStepMode.Summed) optimizer.Step();
        return results;
    }

    /// <summary>
    /// <see cref="Optimizer.ZeroGrad"/> with set-to-none, but the dropped gradients are disposed rather than left to the finalizer.
    /// Per-task stepping drops and recreates every gradient once per task; left to the GC, the pool would create ~4 bytes per
    /// parameter per task in new arrays and the unowned-bytes safety net would force full collections (issue #3). Disposed, their
    /// arrays return to the pool's persistent buckets and the next backward's gradients reuse them. So a gradient read from a
    /// parameter is valid until the next <see cref="TrainStep"/>.
    /// </summary>
    private static void ReleaseGradients(Optimizer optimizer)
    {
        // Index loops over the optimizer's own lists: this runs once per task, and walking the module tree would build every
        // parameter's dotted name each time.
        var groups = optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++)
        {
            var parameters = groups[i].Parameters;
            for (int j = 0; j < parameters.Count; j++)
            {
                var p = parameters[j];
                var g = p.Grad;
                if (g == null) continue;
                p.Grad = null;
                // A gradient with a producer belongs to a create-graph graph, which frees it.
                if (g.IsLeaf && !g.RequiresGrad) g.Dispose();
            }
        }
    }

    private static bool AllVoid(Tensor gt)
    {
        // On the host a scan of the labels: the reduction ops create a tensor per call, garbage in a loop that runs every step.
        if (gt.Device.IsCpu && gt.IsContiguous && gt.DType == DType.Float32)
        {
            foreach (var v in gt.Span<float>()) if (v != AstmtLosses.IgnoreLabel) return false;
            return true;
        }
        using var _ = Autograd.NoGrad();
        using var valid = F.NotEqual(gt, AstmtLosses.IgnoreLabel);
        using var count = F.Sum(valid);
        return count.Item() == 0;
    }

    /// <summary>The discriminator's per-pixel accuracy on the counted pixels (NaN when there is none).</summary>
    public static double? DiscriminatorAccuracy(AstmtStepLosses losses)
    {
        if (losses.DiscriminatorLogits == null || losses.DiscriminatorLabels == null) return null;
        using var _ = Autograd.NoGrad();
        double[] predicted;
        using (var argMax = F.ArgMax(losses.DiscriminatorLogits, 1)) predicted = argMax.ToDoubleArray();
        var labels = losses.DiscriminatorLabels.ToDoubleArray();
        long counted = 0, correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] == AstmtLosses.IgnoreLabel) continue;
            counted++;
            if (predicted[i] == labels[i]) correct++;
        }
        return counted == 0 ? double.NaN : (double)correct / counted;
    }
}

/// <summary>One task's values in a training iteration.</summary>
/// <param name="Task">The task name.</param>
/// <param name="TaskLoss">LOSS_MULT × its loss.</param>
/// <param name="DiscriminatorLoss">The discriminator's cross-entropy, or null without adversarial training.</param>
/// <param name="DiscriminatorAccuracy">The discriminator's per-pixel accuracy, or null.</param>
public sealed record AstmtTaskStep(string Task, double TaskLoss, double? DiscriminatorLoss, double? DiscriminatorAccuracy);
