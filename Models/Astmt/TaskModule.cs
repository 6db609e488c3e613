using Astmt.Engine;
using Astmt.Engine.NN;

namespace Astmt.Models.Astmt;

/// <summary>A layer whose forward depends on the task being run: it selects that task's batch norm, SE, adapter or head by the
/// task's name (the reference's <c>SequentialMultiTask</c> threads the name through every block the same way).</summary>
public abstract class TaskModule : Module
{
    /// <summary>Runs the layer for <paramref name="task"/>.</summary>
    public abstract Tensor Forward(Tensor x, string task);
}
