namespace Astmt.Engine.NN;

/// <summary>What a non-strict <see cref="Module.LoadStateDict"/> could not match (PyTorch's <c>_IncompatibleKeys</c>).</summary>
/// <param name="MissingKeys">Keys of the module that the state dict lacks; those tensors kept their values.</param>
/// <param name="UnexpectedKeys">Keys of the state dict that the module does not have; they were ignored.</param>
public sealed record StateDictLoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);

/// <summary>A state dict that does not fit a module; the message lists every missing and unexpected key and every shape mismatch.</summary>
public sealed class StateDictMismatchException : Exception
{
    /// <summary>Creates the exception for module type <paramref name="moduleName"/>.</summary>
    public StateDictMismatchException(string moduleName, IReadOnlyList<string> missingKeys, IReadOnlyList<string> unexpectedKeys, IReadOnlyList<string> mismatches)
        : base(Format(moduleName, missingKeys, unexpectedKeys, mismatches))
    {
        MissingKeys = missingKeys;
        UnexpectedKeys = unexpectedKeys;
        Mismatches = mismatches;
    }

    /// <summary>Keys of the module absent from the state dict.</summary>
    public IReadOnlyList<string> MissingKeys { get; }

    /// <summary>Keys of the state dict the module does not have.</summary>
    public IReadOnlyList<string> UnexpectedKeys { get; }

    /// <summary>One line per key whose shape or dtype kind differs.</summary>
    public IReadOnlyList<string> Mismatches { get; }

    private static string Format(string moduleName, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatches)
    {
        var lines = new List<string> { $"Error(s) in loading state_dict for {moduleName}:" };
        if (missing.Count > 0) lines.Add($"  Missing key(s) in state_dict ({missing.Count}): {string.Join(", ", missing.Select(k => $"\"{k}\""))}.");
        if (unexpected.Count > 0) lines.Add($"  Unexpected key(s) in state_dict ({unexpected.Count}): {string.Join(", ", unexpected.Select(k => $"\"{k}\""))}.");
        foreach (var m in mismatches) lines.Add("  " + m + ".");
        return string.Join(Environment.NewLine, lines);
    }
}
