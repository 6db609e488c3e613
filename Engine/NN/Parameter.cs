namespace Astmt.Engine.NN;

/// <summary>
/// Parameters (PyTorch's <c>nn.Parameter</c>): leaf tensors that require a gradient and that a module registers by name.
/// <see cref="Tensor"/> is sealed, so a parameter is an ordinary tensor marked as a trainable leaf.
/// </summary>
public static class Parameter
{
    /// <summary>A new zero-filled float32 parameter of the given shape.</summary>
    public static Tensor Create(params int[] shape) => MakeParameter(Tensor.Zeros(shape), "Parameter.Create");

    /// <summary>A new parameter holding a copy of <paramref name="values"/> (detached from any graph).</summary>
    public static Tensor From(Tensor values) => MakeParameter(values.Detach(), "Parameter.From");

    /// <summary>Marks <paramref name="tensor"/> (a floating leaf) as a parameter; <paramref name="what"/> names it in errors.</summary>
    internal static Tensor MakeParameter(Tensor tensor, string what, bool requiresGrad = true)
    {
        if (!tensor.IsLeaf)
            throw new ArgumentException($"{what}: a parameter must be a leaf tensor; this one was produced by '{tensor.GradFn!.OpName}'. Use Detach() or Parameter.From().");
        if (!tensor.DType.IsFloating())
            throw new ArgumentException($"{what}: a parameter must be Float32 or Float64, got {tensor.Describe()}.");
        if (tensor.InArena)
            throw new ArgumentException($"{what}: {tensor.Describe()} belongs to the step arena and would be released by the next Backward(); use Parameter.From() to copy it.");
        tensor.RequiresGrad = requiresGrad;
        return tensor;
    }
}
