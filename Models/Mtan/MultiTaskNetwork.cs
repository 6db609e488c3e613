using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Mtan;

/// <summary>
/// Base of the MTAN-family networks: an image [B,3,H,W] in, one prediction per task out, plus the uncertainty log-variances when
/// the network has them. Holds the task list and applies each task's output activation (pitfall 4).
/// </summary>
public abstract class MultiTaskNetwork : Module<Tensor, MultiTaskOutput>
{
    /// <summary>Sets the task list and class count.</summary>
    protected MultiTaskNetwork(IReadOnlyList<MtanTask> tasks, int classCount)
    {
        if (tasks.Count == 0) throw new ArgumentException($"{GetType().Name}: at least one task is needed.");
        Tasks = tasks;
        ClassCount = classCount;
    }

    /// <summary>The tasks, in output order.</summary>
    public IReadOnlyList<MtanTask> Tasks { get; }

    /// <summary>Classes of the semantic task.</summary>
    public int ClassCount { get; }

    /// <summary>The learned log-variances [tasks] used by uncertainty weighting, or null (single-task networks).</summary>
    public virtual Tensor? LogSigma => null;

    /// <summary>Registers the reference's <c>logsigma = Parameter([-0.5, …])</c>, one entry per task.</summary>
    protected Tensor RegisterLogSigma() => RegisterParameter("logsigma", Tensor.Full([Tasks.Count], -0.5))!;

    /// <summary>Applies the output activation of <paramref name="task"/> to its head's raw output: log-softmax over channels for
    /// semantic, identity for depth, and x/‖x‖₂ over channels for normals (no epsilon, as the reference: a zero vector gives NaN).</summary>
    public static Tensor Activate(MtanTask task, Tensor raw) => task switch
    {
        MtanTask.Semantic => F.LogSoftmax(raw, 1),
        MtanTask.Depth => raw,
        _ => F.L2Normalize(raw, 1, eps: 0.0),
    };

    /// <summary>Checks the input layout: [B,3,H,W] with H and W divisible by 32 (five 2×2 poolings that the decoder must undo).</summary>
    protected void CheckInput(Tensor x)
    {
        if (x.Rank != 4 || x.Shape[1] != 3)
            throw new ArgumentException($"{TypeName}: expected an RGB image batch [B,3,H,W], got {x.Describe()}.");
        if (x.Shape[2] % 32 != 0 || x.Shape[3] % 32 != 0)
            throw new ArgumentException($"{TypeName}: H and W must be multiples of 32 (five 2x2 max-pools are undone by unpooling), got {x.Describe()}.");
    }
}
