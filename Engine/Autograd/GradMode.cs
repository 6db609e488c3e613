namespace Astmt.Engine.Autograd;

/// <summary>Whether ops record onto the tape on this thread (PyTorch's grad mode).</summary>
public static class GradMode
{
    [ThreadStatic] private static bool _disabled;

    /// <summary>True when ops record nodes.</summary>
    public static bool Enabled => !_disabled;

    /// <summary>Sets grad mode and returns a scope that restores the previous one.</summary>
    public static Scope Set(bool enabled)
    {
        var previous = !_disabled;
        _disabled = !enabled;
        return new Scope(previous);
    }

    /// <summary>Restores the grad mode that was in force when it was created.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool _previous;
        internal Scope(bool previous) => _previous = previous;

        /// <summary>Restores the previous mode.</summary>
        public void Dispose() => _disabled = !_previous;
    }
}
