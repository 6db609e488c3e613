namespace Astmt.Engine.Autograd;

/// <summary>Hands tensors a caller created to the step arena, so they return to the pool when backward frees the graph.</summary>
public static class StepOwnership
{
    /// <summary>
    /// While a graph is being recorded (grad mode on), makes <paramref name="t"/>, a tensor the caller created and no one else
    /// holds (a label map converted with <see cref="Tensor.To(DType)"/>, a constant kernel made with <see cref="Tensor.FromArray(double[], int[])"/>),
    /// belong to the step arena: it is released with the step's other temporaries instead of waiting for its finalizer, which is
    /// what keeps a training step from creating pool arrays every step. Outside recording it stays caller-owned. Returns
    /// <paramref name="t"/>; do not pass a tensor someone else still uses after the step, or a view.
    /// </summary>
    public static Tensor Adopt(Tensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        if (!StepArena.ShouldOwnOutputs || t.InArena || t.IsReleased) return t;
        t.ForgetUnownedCount();
        StepArena.Register(t);
        return t;
    }
}
