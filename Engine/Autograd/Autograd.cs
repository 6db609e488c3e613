using Astmt.Engine.Ops;

namespace Astmt.Engine.Autograd;

/// <summary>Records ops onto the tape and runs reverse-mode differentiation over it, including create-graph (higher-order) passes.</summary>
public static class Autograd
{
    private static long _sequence;

    /// <summary>When on, every recorded op checks its output (and backward its gradients) for NaN or Inf and names the first offender.</summary>
    public static bool DetectAnomaly { get; set; } = Environment.GetEnvironmentVariable("ASTMT_DETECT_ANOMALY") == "1";

    /// <summary>A scope in which ops record nothing (PyTorch's <c>torch.no_grad()</c>).</summary>
    public static GradMode.Scope NoGrad() => GradMode.Set(false);

    /// <summary>A scope in which ops record even inside a no-grad region.</summary>
    public static GradMode.Scope EnableGrad() => GradMode.Set(true);

    /// <summary>True when an op over these inputs must record a node.</summary>
    public static bool IsRecording(Tensor a) => GradMode.Enabled && a.RequiresGrad;

    /// <summary>True when an op over these inputs must record a node.</summary>
    public static bool IsRecording(Tensor a, Tensor? b) => GradMode.Enabled && (a.RequiresGrad || b is { RequiresGrad: true });

    /// <summary>True when an op over these inputs must record a node.</summary>
    public static bool IsRecording(Tensor a, Tensor? b, Tensor? c) =>
        GradMode.Enabled && (a.RequiresGrad || b is { RequiresGrad: true } || c is { RequiresGrad: true });

    /// <summary>True when an op over these inputs must record a node.</summary>
    public static bool IsRecording(IReadOnlyList<Tensor?> inputs)
    {
        if (!GradMode.Enabled) return false;
        for (int i = 0; i < inputs.Count; i++) if (inputs[i] is { RequiresGrad: true }) return true;
        return false;
    }

    /// <summary>True when an op over these inputs must record a node (a collection expression binds here and allocates nothing).</summary>
    public static bool IsRecording(ReadOnlySpan<Tensor?> inputs)
    {
        if (!GradMode.Enabled) return false;
        foreach (var t in inputs) if (t is { RequiresGrad: true }) return true;
        return false;
    }

    /// <summary>Attaches <paramref name="node"/> as the producer of <paramref name="output"/> and returns the output.</summary>
    public static Tensor Record(Tensor output, Node node)
    {
        node.Sequence = Interlocked.Increment(ref _sequence);
        node.OutputShape = output.Shape;
        output.SetProducer(node);
        if (Diagnostics.OpProfiler.Enabled) Diagnostics.OpProfiler.OnRecord(node.OpName);
        if (DetectAnomaly) CheckFinite(output, $"forward of '{node.OpName}'");
        return output;
    }

    /// <summary>Releases every tensor the current step's graph produced (what <see cref="Tensor.Backward"/> does when it frees the
    /// graph). Use it in loops that record graphs without calling Backward.</summary>
    public static void ReleaseStep() => StepArena.ReleaseAll();

    /// <summary>Number of tensors the current step's arena owns (for tests and diagnostics).</summary>
    public static int ArenaTensorCount => StepArena.Count;

    /// <summary>
    /// Gradients of <paramref name="outputs"/> with respect to <paramref name="inputs"/> (leaves or intermediates), like
    /// <c>torch.autograd.grad</c>. With <paramref name="createGraph"/> the result is itself differentiable.
    /// </summary>
    /// <returns>One gradient per input; null where the input does not influence the outputs.</returns>
    public static Tensor?[] Grad(Tensor[] outputs, Tensor[] inputs, Tensor[]? gradOutputs = null, bool createGraph = false, bool? retainGraph = null)
    {
        foreach (var x in inputs)
            if (!x.RequiresGrad) throw new ArgumentException($"Grad: input {x.Describe()} does not require a gradient.");
        var result = Run(outputs, gradOutputs, inputs, createGraph, retainGraph ?? createGraph, "Grad");
        return result!;
    }

    internal static void Backward(Tensor root, Tensor? gradient, bool retainGraph, bool createGraph)
    {
        Run([root], gradient == null ? null : [gradient], null, createGraph, retainGraph || createGraph, "Backward");
    }

    private static Tensor?[]? Run(Tensor[] outputs, Tensor[]? gradOutputs, Tensor[]? targets, bool createGraph, bool retainGraph, string api)
    {
        if (gradOutputs != null && gradOutputs.Length != outputs.Length)
            throw new ArgumentException($"{api}: {outputs.Length} outputs but {gradOutputs.Length} output gradients.");
        var seeds = new Tensor[outputs.Length];
        for (int i = 0; i < outputs.Length; i++)
        {
            var o = outputs[i];
            if (!o.RequiresGrad)
                throw new InvalidOperationException($"{api}: tensor {o.Describe()} does not require a gradient and has no grad_fn; nothing to differentiate.");
            if (gradOutputs == null)
            {
                if (o.Numel != 1)
                    throw new InvalidOperationException($"{api}() needs a scalar (one-element) loss, got {o.Describe()}. Reduce it with Sum() or Mean(), or pass an explicit output gradient.");
                // The seed belongs to the step like every other backward temporary, so freeing the graph returns it.
                using (StepArena.EnterBackward())
                using (GradMode.Set(false)) seeds[i] = Tensor.NewOutputLikeOnes(o);
            }
            else
            {
                if (!ShapeUtil.Same(gradOutputs[i].Shape, o.Shape))
                    throw new ArgumentException($"{api}: output gradient {gradOutputs[i].Describe()} does not match output {o.Describe()}.");
                seeds[i] = gradOutputs[i];
            }
        }

        // The collections come from a per-thread cache and go back cleared (capacity kept), so a steady-state training step
        // builds its graph walk without allocating; a nested Run (a node whose backward calls Grad) rents its own set.
        var scratch = RunScratch.Rent();
        try { return Run(outputs, seeds, targets, createGraph, retainGraph, api, scratch); }
        finally { RunScratch.Return(scratch); }
    }

    private static Tensor?[]? Run(Tensor[] outputs, Tensor[] seeds, Tensor[]? targets, bool createGraph, bool retainGraph, string api, RunScratch scratch)
    {
        var nodes = scratch.Nodes;
        var seen = scratch.Seen;
        var stack = scratch.Stack;
        // Collect the graph below the outputs and check that it is still alive.
        foreach (var o in outputs) if (o.GradFn is { } n && seen.Add(n)) stack.Push(n);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            if (n.Freed)
                throw new InvalidOperationException($"{api}: trying to backward through the graph a second time: op '{n.OpName}' was freed by an earlier Backward(). " +
                                                    "Pass retainGraph: true to the first call if you need to backward twice.");
            nodes.Add(n);
            foreach (var t in n.Inputs)
                if (t?.GradFn is { } p && seen.Add(p)) stack.Push(p);
        }
        nodes.Sort(static (a, b) => b.Sequence.CompareTo(a.Sequence));

        Dictionary<Tensor, int>? targetIndex = null;
        Dictionary<Node, int>? targetNode = null;
        HashSet<Node>? needed = null;
        Tensor?[]? results = null;
        if (targets != null)
        {
            targetIndex = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
            targetNode = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < targets.Length; i++)
            {
                targetIndex[targets[i]] = i;
                if (targets[i].GradFn is { } tn) targetNode[tn] = i;
            }
            // A node is needed when one of the targets lies below it; scan in tape order so inputs come first.
            needed = new HashSet<Node>(ReferenceEqualityComparer.Instance);
            for (int k = nodes.Count - 1; k >= 0; k--)
            {
                var n = nodes[k];
                foreach (var t in n.Inputs)
                {
                    if (t == null) continue;
                    if (targetIndex.ContainsKey(t) || (t.GradFn is { } p && needed.Contains(p))) { needed.Add(n); break; }
                }
            }
            results = new Tensor?[targets.Length];
            for (int i = 0; i < outputs.Length; i++)
                if (targetIndex.TryGetValue(outputs[i], out var ti)) results[ti] = Accumulate(results[ti], seeds[i]);
        }

        var pending = scratch.Pending;
        for (int i = 0; i < outputs.Length; i++)
        {
            if (outputs[i].GradFn is { } n) pending[n] = pending.TryGetValue(n, out var g0) ? Accumulate(g0, seeds[i]) : seeds[i];
            else if (targets == null) AccumulateLeaf(outputs[i], seeds[i], createGraph);
        }

        // A plain Backward (no graph kept, no create-graph, no targets) returns each consumed gradient to the pool at once, so the
        // step's peak holds the forward activations plus the live gradients rather than every gradient of the step.
        bool releaseEarly = targets == null && !createGraph && !retainGraph;
        // Likewise each saved activation goes back once the last node that reads it has run.
        var readers = releaseEarly ? SavedTensors.CountReaders(nodes, scratch.Readers) : null;
        using (StepArena.EnterBackward())
        using (GradMode.Set(createGraph))
        {
            foreach (var node in nodes)
            {
                if (!pending.Remove(node, out var g)) continue;
                if (targetNode != null && targetNode.TryGetValue(node, out var ti)) results![ti] = Accumulate(results[ti], g);
                if (needed != null && !needed.Contains(node)) continue;

                long profileStart = Diagnostics.OpProfiler.Enabled ? Diagnostics.OpProfiler.BeginBackward() : 0;
                // A node that can add its input gradient straight into a buffer the backward owns does so (no temporary, one
                // pass); its gradient is then already where it belongs and nothing is left to distribute.
                bool accumulatedInPlace = !createGraph && GradAccumulation.TryAccumulateInPlace(node, g, pending, seeds, results, leavesGetGrad: targets == null);
                var inputGrads = accumulatedInPlace ? [] : node.Backward(g);
                if (profileStart != 0) Diagnostics.OpProfiler.EndBackward(node.OpName, profileStart);
                if (!accumulatedInPlace && inputGrads.Length != node.Inputs.Length)
                    throw new InvalidOperationException($"Backward of '{node.OpName}' returned {inputGrads.Length} gradients for {node.Inputs.Length} inputs.");
                for (int i = 0; i < inputGrads.Length; i++)
                {
                    var input = node.Inputs[i];
                    var gi = inputGrads[i];
                    if (input == null || gi == null) continue;
                    if (!ShapeUtil.Same(gi.Shape, input.Shape))
                        throw new InvalidOperationException($"Backward of '{node.OpName}' produced a gradient {gi.Describe()} for input {i} of shape {ShapeUtil.Format(input.Shape)}.");
                    if (DetectAnomaly) CheckFinite(gi, $"backward of '{node.OpName}' (gradient of input {i})");
                    if (input.GradFn is { } p)
                    {
                        if (pending.TryGetValue(p, out var acc))
                        {
                            pending[p] = Accumulate(acc, gi);
                            if (releaseEarly) ReleaseIfUnused(acc, pending, inputGrads, g);
                        }
                        else pending[p] = gi;
                    }
                    else if (targetIndex != null) { if (targetIndex.TryGetValue(input, out var li)) results![li] = Accumulate(results[li], gi); }
                    else AccumulateLeaf(input, gi, createGraph);
                }
                if (releaseEarly) ReleaseIfUnused(g, pending, inputGrads, null);
                if (readers != null) SavedTensors.ReleaseAfter(node, readers, outputs, pending, inputGrads);
            }
        }

        if (!retainGraph)
        {
            foreach (var n in nodes) n.Free();
            if (targets == null) StepArena.ReleaseAll(handOver: outputs);
        }
        return results;
    }

    // The working collections of one Run, reused across steps (cleared with their capacity kept).
    private sealed class RunScratch
    {
        [ThreadStatic] private static Stack<RunScratch>? _free;

        public readonly List<Node> Nodes = [];
        public readonly HashSet<Node> Seen = new(ReferenceEqualityComparer.Instance);
        public readonly Stack<Node> Stack = new();
        public readonly Dictionary<Node, Tensor> Pending = new(ReferenceEqualityComparer.Instance);
        public readonly Dictionary<Tensor, int> Readers = new(ReferenceEqualityComparer.Instance);

        public static RunScratch Rent() => _free is { Count: > 0 } free ? free.Pop() : new RunScratch();

        public static void Return(RunScratch scratch)
        {
            // Cleared so that the cache holds no tensor or node of a finished step.
            scratch.Nodes.Clear();
            scratch.Seen.Clear();
            scratch.Stack.Clear();
            scratch.Pending.Clear();
            scratch.Readers.Clear();
            (_free ??= new Stack<RunScratch>()).Push(scratch);
        }
    }

    private static Tensor Accumulate(Tensor? acc, Tensor g) => acc == null ? g : F.Add(acc, g);

    // Releases a backward temporary once nothing will read it again: it must belong to the step arena (so no caller holds it), not
    // be retained, and not still wait in pending or among the gradients being distributed. Views share reference-counted
    // storage, so releasing one never frees memory another tensor still uses.
    private static void ReleaseIfUnused(Tensor t, Dictionary<Node, Tensor> pending, Tensor?[] inFlight, Tensor? alsoInUse)
    {
        if (!t.InArena || t.IsRetained || ReferenceEquals(t, alsoInUse)) return;
        foreach (var x in inFlight) if (ReferenceEquals(x, t)) return;
        foreach (var x in pending.Values) if (ReferenceEquals(x, t)) return;
        t.ReleaseStorage();
    }

    private static void AccumulateLeaf(Tensor leaf, Tensor g, bool createGraph)
    {
        if (leaf.Grad == null || leaf.Grad.IsReleased)
        {
            leaf.Grad = createGraph ? g : g.DetachPersistent();
            return;
        }
        if (createGraph) { leaf.Grad = F.Add(leaf.Grad, g); return; }
        GradAccumulation.AddInPlace(leaf.Grad, g);
    }

    private static void CheckFinite(Tensor t, string where)
    {
        if (!t.DType.IsFloating()) return;
        var v = t.ToDoubleArray();
        for (int i = 0; i < v.Length; i++)
            if (!double.IsFinite(v[i]))
                throw new ArithmeticException($"Anomaly: {where} produced {(double.IsNaN(v[i]) ? "NaN" : "Inf")} at flat index {i} of {t.Describe()}.");
    }
}
