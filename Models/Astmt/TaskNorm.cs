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
    /// and counter updates as <see cref="BatchNorm2d.ForwardCore"/>.</summary>
    public static Tensor ApplyRelu(Module norm, Tensor x, string task) => Select(norm, task).ForwardRelu(x);

    private static BatchNorm2d Select(Module norm, string task) => norm switch
    {
        BatchNorm2d shared => shared,
        ModuleDict<BatchNorm2d> perTask => perTask[task],
        _ => throw new InvalidOperationException($"TaskNorm: unexpected module {norm.TypeName}."),
    };
}
