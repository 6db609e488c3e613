namespace Astmt.Engine.NN;

/// <summary>
/// Counts the multiply-accumulates of the Conv2d and Linear layers that run on this thread while the counter is active (the
/// figure papers report as FLOPs or MACs; element-wise ops, pooling and normalisation are not counted).
/// </summary>
/// <example><code>
/// using var counter = FlopCounter.Start();
/// model.Forward(x);
/// long macs = counter.MultiplyAccumulates;
/// </code></example>
public sealed class FlopCounter : IDisposable
{
    [ThreadStatic] private static FlopCounter? _current;
    private readonly FlopCounter? _previous;
    private bool _disposed;

    private FlopCounter(FlopCounter? previous) => _previous = previous;

    /// <summary>The active counter of this thread, or null.</summary>
    internal static FlopCounter? Current => _current;

    /// <summary>Starts counting on this thread until the returned counter is disposed (counters nest; the innermost counts).</summary>
    public static FlopCounter Start() => _current = new FlopCounter(_current);

    /// <summary>Multiply-accumulates counted so far.</summary>
    public long MultiplyAccumulates { get; private set; }

    /// <summary>Layers counted so far.</summary>
    public int Layers { get; private set; }

    internal void Add(long multiplyAccumulates)
    {
        MultiplyAccumulates += multiplyAccumulates;
        Layers++;
    }

    /// <summary>Stops counting.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (ReferenceEquals(_current, this)) _current = _previous;
    }
}
