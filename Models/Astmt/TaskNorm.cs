using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Astmt;

/// <summary>
/// A batch norm that is either one per task (<c>nn.ModuleDict{task: BatchNorm2d}</c>, keys <c>name.&lt;task&gt;.weight</c>) or shared
/// (a plain <c>BatchNorm2d</c>, keys <c>name.weight</c>). Helpers build it as the registered child itself so the state-dict keys
/// match the reference's.
/// </summary>
internal static class TaskNorm
{
    /// <summary>A per-task dictionary of batch norms over <paramref name="channels"/>, or a single shared one when
    /// <paramref name="tasks"/> is null.</summary>
    public static Module Create(int channels, IReadOnlyList<string>? tasks) =>
        tasks == null ? new BatchNorm2d(channels) : new ModuleDict<BatchNorm2d>(tasks.Select(t => KeyValuePair.Create(t, new BatchNorm2d(channels))));

    /// <summary>Applies the batch norm of <paramref name="task"/> (or the shared one).</summary>
    public static Tensor Apply(Module norm, Tensor x, string task) => Select(norm, task).Forward(x);

    /// <summary>ReLU(batch norm of <paramref name="task"/>) in one fused pass (forward and backward), with the same running-statistics
    /// and counter updates as <see cref="BatchNorm2d.Forward"/>.</summary>
    public static Tensor ApplyRelu(Module norm, Tensor x, string task)
    {
        var bn = Select(norm, task);
        if (x.Rank != 4 || x.Shape[1] != bn.NumFeatures)
            throw new ArgumentException($"BatchNorm2d({bn.NumFeatures}): expected input [B,{bn.NumFeatures},H,W], got {x.Describe()}.");
        var runningMean = bn.RunningMean;
        if (bn.Training && bn.NumBatchesTracked is { } counter) Increment(counter);
        return F.BatchNormRelu2d(x, bn.Weight, bn.Bias, runningMean, bn.RunningVar, bn.Training || runningMean == null, bn.Momentum, bn.Eps);
    }

    private static BatchNorm2d Select(Module norm, string task) => norm switch
    {
        BatchNorm2d shared => shared,
        ModuleDict<BatchNorm2d> perTask => perTask[task],
        _ => throw new InvalidOperationException($"TaskNorm: unexpected module {norm.TypeName}."),
    };

    private static void Increment(Tensor counter)
    {
        if (counter.Device.IsCpu) { counter.Span<long>()[0]++; return; }
        using var host = counter.To(Device.Cpu);
        host.Span<long>()[0]++;
        counter.CopyFrom(host);
    }
}
