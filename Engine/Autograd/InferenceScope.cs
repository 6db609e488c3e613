namespace Astmt.Engine.Autograd;

/// <summary>
/// Owns the tensors that ops produce during a module's forward pass while grad mode is off (evaluation, inference), so that they
/// return to the pool when the forward returns instead of through the finalizer. Every <see cref="NN.Module{TInput,TOutput}.Forward"/>
/// call made with grad mode off is a frame: the outermost one opens the scope; each frame, when it returns, releases the tensors
/// created inside it that its return value does not reach (a tensor, or tensors inside tuples, records, arrays, lists and
/// dictionaries), so a Conv→BN→ReLU block frees the conv's output as soon as the block returns, as PyTorch frees a tensor whose
/// last reference dies. What the outermost frame returns, and every tensor <see cref="Tensor.Retain"/>ed, becomes the caller's.
/// </summary>
/// <remarks>
/// A tensor created inside a frame can only be referenced by that frame's locals, by what it returns, or by a field a module
/// writes during its forward. Modules here write none; a module that keeps an intermediate of its forward (a cache, a feature
/// hook) must <see cref="Tensor.Retain"/> it. A frame whose return value holds a tensor some other way than the shapes above
/// (an <c>object</c> field holding a delegate, a lazy sequence) releases nothing: its tensors move up to the enclosing frame, and
/// the outermost one then hands them all to the caller (the finalizer), never freeing memory that is still reachable.
/// A forward that throws releases every non-retained tensor of the scope when the outermost frame unwinds.
/// </remarks>
public static class InferenceScope
{
    [ThreadStatic] private static List<Tensor>? _owned;
    [ThreadStatic] private static int _depth;
    [ThreadStatic] private static int _stamp;

    /// <summary>True when new op outputs on this thread belong to an inference scope.</summary>
    public static bool IsOpen => _depth > 0;

    /// <summary>Number of tensors the open scope owns on this thread (for tests and diagnostics).</summary>
    public static int OwnedCount => _owned?.Count ?? 0;

    /// <summary>One forward call inside the scope: where its tensors start in the owned list.</summary>
    internal readonly struct Frame
    {
        internal Frame(int start, int depth) { Start = start; Depth = depth; }

        /// <summary>Index in the owned list of the first tensor created inside this frame.</summary>
        public int Start { get; }

        /// <summary>Nesting depth of this frame (1 for the outermost).</summary>
        public int Depth { get; }
    }

    /// <summary>Opens a frame when grad mode is off (and not inside backward); returns false when ops record a graph, in which
    /// case the step arena owns their outputs and there is nothing to do.</summary>
    internal static bool TryEnter(out Frame frame)
    {
        if (StepArena.ShouldOwnOutputs) { frame = default; return false; }
        _owned ??= new List<Tensor>(1024);
        frame = new Frame(_owned.Count, ++_depth);
        return true;
    }

    /// <summary>Records <paramref name="t"/>, a new op output, as owned by the innermost open frame.</summary>
    internal static void Register(Tensor t)
    {
        t.InScope = true;
        t.ScopeDepth = _depth;
        _owned!.Add(t);
    }

    /// <summary>Closes <paramref name="frame"/> after its forward returned <paramref name="output"/>: releases what the frame
    /// created and the output does not reach; the rest moves up to the enclosing frame, or to the caller for the outermost.</summary>
    internal static void Exit<T>(in Frame frame, T output)
    {
        var list = _owned!;
        _depth = frame.Depth - 1;
        int stamp = ++_stamp;
        bool complete = ReachableTensors.Mark(output, stamp);
        bool outermost = frame.Depth == 1;
        int keep = frame.Start;
        for (int i = frame.Start; i < list.Count; i++)
        {
            var t = list[i];
            if (t.IsReleased) { t.InScope = false; continue; }
            if (t.IsRetained || (outermost && (!complete || t.ScopeStamp == stamp))) { t.InScope = false; continue; } // the caller's now
            if (!complete || t.ScopeStamp == stamp) { t.ScopeDepth = _depth; list[keep++] = t; continue; }           // the enclosing frame's
            Release(t);
        }
        list.RemoveRange(keep, list.Count - keep);
    }

    /// <summary>Closes <paramref name="frame"/> when its forward threw. The outermost frame releases every non-retained tensor
    /// of the scope; an inner one leaves its tensors to the enclosing frame, which the exception is unwinding too.</summary>
    internal static void Abandon(in Frame frame)
    {
        _depth = frame.Depth - 1;
        if (frame.Depth != 1) return;
        var list = _owned!;
        for (int i = frame.Start; i < list.Count; i++)
        {
            var t = list[i];
            t.InScope = false;
            if (!t.IsRetained) Release(t);
        }
        list.RemoveRange(frame.Start, list.Count - frame.Start);
    }

    /// <summary>
    /// Runs <paramref name="forward"/> as one frame of the inference scope: for entry points that are not a
    /// <see cref="NN.Module{TInput,TOutput}.Forward"/> (a forward taking two arguments, a multi-task loop). With grad mode on it
    /// just runs <paramref name="forward"/>.
    /// </summary>
    public static TOutput Run<TState, TOutput>(TState state, Func<TState, TOutput> forward)
    {
        if (!TryEnter(out var frame)) return forward(state);
        TOutput output;
        try { output = forward(state); }
        catch { Abandon(frame); throw; }
        Exit(frame, output);
        return output;
    }

    /// <summary>
    /// Releases <paramref name="t"/> now if it is an intermediate of the innermost open frame (created by an op inside the
    /// forward being run, or returned to it by a nested module) and not retained; otherwise does nothing, so forward code may call
    /// it whatever the grad mode (Python's <c>del</c>: lowers the peak of a long forward). The tensor must be dead: no later
    /// line of the forward reads it, and neither does what the forward returns (a view of it keeps its memory alive, though).
    /// </summary>
    public static void ReleaseIntermediate(Tensor? t)
    {
        if (t is not { InScope: true, IsRetained: false } || t.ScopeDepth != _depth || _depth == 0) return;
        t.ReleaseStorage(); // stays listed: the frame's exit drops it
        GC.SuppressFinalize(t);
    }

    private static void Release(Tensor t)
    {
        t.InScope = false;
        t.ReleaseStorage();
        GC.SuppressFinalize(t);
    }
}
