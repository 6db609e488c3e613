using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;

namespace Astmt.Models.Astmt;

/// <summary>A layer whose forward depends on the task being run: it selects that task's batch norm, SE, adapter or head by the
/// task's name (the reference's <c>SequentialMultiTask</c> threads the name through every block the same way).</summary>
public abstract class TaskModule : Module
{
    /// <summary>Runs the layer for <paramref name="task"/>. With grad mode off the call is a frame of the
    /// <see cref="InferenceScope"/>, as <see cref="Module{TInput,TOutput}.Forward"/>: its intermediates go back to the pool when it returns.</summary>
    public Tensor Forward(Tensor x, string task) =>
        InferenceScope.Run((Module: this, x, task), static s => s.Module.ForwardCore(s.x, s.task));

    /// <summary>The layer's computation for <paramref name="task"/>. Call child modules through their Forward.</summary>
    protected abstract Tensor ForwardCore(Tensor x, string task);
}
