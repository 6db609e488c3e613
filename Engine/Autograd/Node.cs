namespace Astmt.Engine.Autograd;

/// <summary>
/// One recorded op on the tape: it keeps what its backward needs and maps the gradient of its output to gradients of its inputs.
/// Backward is written with differentiable ops, so running it while recording (create-graph) yields higher-order gradients.
/// </summary>
public abstract class Node
{
    /// <summary>Creates a node for op <paramref name="opName"/> over <paramref name="inputs"/>; inputs that need no gradient are dropped.</summary>
    protected Node(string opName, params Tensor?[] inputs)
    {
        OpName = opName;
        Inputs = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
            Inputs[i] = Needing(inputs[i]);
    }

    // The fixed-arity constructors build Inputs directly: the params form would allocate a second, throw-away array per node.

    /// <summary>Creates a node for a one-input op.</summary>
    protected Node(string opName, Tensor? input)
    {
        OpName = opName;
        Inputs = [Needing(input)];
    }

    /// <summary>Creates a node for a two-input op; inputs that need no gradient are dropped.</summary>
    protected Node(string opName, Tensor? first, Tensor? second)
    {
        OpName = opName;
        Inputs = [Needing(first), Needing(second)];
    }

    /// <summary>Creates a node for a three-input op; inputs that need no gradient are dropped.</summary>
    protected Node(string opName, Tensor? first, Tensor? second, Tensor? third)
    {
        OpName = opName;
        Inputs = [Needing(first), Needing(second), Needing(third)];
    }

    private static Tensor? Needing(Tensor? t) => t is { RequiresGrad: true } ? t : null;

    /// <summary>Name of the op, used in errors and anomaly reports.</summary>
    public string OpName { get; }

    /// <summary>Position on the tape: nodes recorded later have larger numbers, so reverse order is a topological order.</summary>
    internal long Sequence { get; set; }

    /// <summary>Inputs that receive gradients (null where none is needed).</summary>
    internal Tensor?[] Inputs { get; }

    /// <summary>Shape of the output, checked against the incoming gradient.</summary>
    internal int[] OutputShape { get; set; } = [];

    /// <summary>True once backward has freed this node.</summary>
    internal bool Freed { get; private set; }

    /// <summary>True when input <paramref name="i"/> needs a gradient.</summary>
    protected bool NeedsGrad(int i) => Inputs[i] != null;

    /// <summary>Gradients of the inputs, in order, given the gradient of the output; null where none is needed.</summary>
    public abstract Tensor?[] Backward(Tensor gradOutput);

    /// <summary>
    /// True when this single-input node can add the gradient of its input straight into an existing gradient buffer with
    /// <see cref="AccumulateInputGradient"/>, so autograd need not materialise that gradient and then add it (one pass instead of
    /// two, no temporary). Autograd only uses it outside create-graph and when it owns the destination exclusively.
    /// </summary>
    internal virtual bool AccumulatesInPlace => false;

    /// <summary>
    /// <paramref name="destination"/> = (<paramref name="accumulate"/> ? <paramref name="destination"/> : 0) + the gradient of the
    /// single input for <paramref name="gradOutput"/>, in place and in one pass. <paramref name="destination"/> may be
    /// <paramref name="gradOutput"/> itself when <paramref name="accumulate"/> is false (elementwise nodes only). Called only when
    /// <see cref="AccumulatesInPlace"/> is true.
    /// </summary>
    internal virtual void AccumulateInputGradient(Tensor gradOutput, Tensor destination, bool accumulate) =>
        throw new NotSupportedException($"Op '{OpName}' cannot accumulate its input gradient in place.");

    /// <summary>Drops saved tensors; called when the graph is freed.</summary>
    protected virtual void ReleaseSaved() { }

    internal void Free()
    {
        if (Freed) return;
        Freed = true;
        ReleaseSaved();
        Array.Clear(Inputs);
    }
}
