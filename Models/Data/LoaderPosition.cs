namespace Astmt.Models.Data;

/// <summary>
/// Where a <see cref="BatchLoader"/> is: the epoch and the step (batch index) within it of the next batch. Saving it with a
/// checkpoint and seeking back to it reproduces the rest of the run's batches exactly.
/// </summary>
/// <param name="Epoch">Zero-based epoch.</param>
/// <param name="Step">Zero-based batch index within the epoch.</param>
public readonly record struct LoaderPosition(int Epoch, int Step)
{
    /// <inheritdoc />
    public override string ToString() => $"epoch {Epoch}, step {Step}";
}
