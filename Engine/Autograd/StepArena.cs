namespace Astmt.Engine.Autograd;

/// <summary>
/// Owns the tensors that ops produce while a graph is being recorded (and the temporaries of backward). Freeing the graph in
/// <see cref="Tensor.Backward"/> releases them all at once, so a plain training loop reuses the same pooled buffers every step.
/// </summary>
internal static class StepArena
{
    [ThreadStatic] private static List<Tensor>? _owned;
    [ThreadStatic] private static int _backwardDepth;

    /// <summary>True when new op outputs belong to the arena: recording a graph, or inside backward.</summary>
    public static bool ShouldOwnOutputs => GradMode.Enabled || _backwardDepth > 0;

    /// <summary>Number of tensors currently owned.</summary>
    public static int Count => _owned?.Count ?? 0;

    public static void Register(Tensor t)
    {
        t.InArena = true;
        (_owned ??= new List<Tensor>(4096)).Add(t);
    }

    /// <summary>Marks the thread as running backward until the returned scope is disposed.</summary>
    public static BackwardScope EnterBackward() => OwnOutputs();

    /// <summary>Makes new op outputs belong to the arena until the returned scope is disposed, even with grad mode off: for a
    /// fused op that runs a sub-op without recording while its own outputs must still be step-owned.</summary>
    public static BackwardScope OwnOutputs()
    {
        _backwardDepth++;
        return default;
    }

    internal readonly struct BackwardScope : IDisposable
    {
        public void Dispose() => _backwardDepth--;
    }

    /// <summary>Releases every owned tensor that was not retained. Tensors in <paramref name="handOver"/> (the roots a Backward
    /// started from, such as the loss) leave the arena unreleased: the caller holds them, so they become caller-owned and return
    /// through Dispose or the finalizer. That is what lets a loop read <c>loss.Item()</c> after <c>loss.Backward()</c>.</summary>
    public static void ReleaseAll(Tensor[]? handOver = null)
    {
        var list = _owned;
        if (list == null) return;
        foreach (var t in list)
        {
            if (t.IsRetained || (handOver != null && Array.IndexOf(handOver, t) >= 0)) { t.InArena = false; continue; }
            t.ReleaseStorage();
            GC.SuppressFinalize(t);
        }
        list.Clear();
    }
}
