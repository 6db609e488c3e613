using Astmt.Engine;

namespace Astmt.Models.Weighting;

/// <summary>Creates weighting strategies by their command-line names.</summary>
public static class TaskWeightings
{
    /// <summary>The accepted names.</summary>
    public static readonly IReadOnlyList<string> Names = ["equal", "dwa", "uncert"];

    /// <summary>Creates "equal", "dwa" (with <paramref name="temperature"/>) or "uncert" (with the model's <paramref name="logSigma"/>
    /// when it has one).</summary>
    public static ITaskWeighting Create(string name, int taskCount, Tensor? logSigma = null, double temperature = 2.0) => name.ToLowerInvariant() switch
    {
        "equal" => new EqualWeighting(taskCount),
        "dwa" => new DynamicWeightAverage(taskCount, temperature),
        "uncert" or "uncertainty" => new UncertaintyWeighting(taskCount, logSigma),
        _ => throw new ArgumentException($"Unknown task weighting '{name}'; expected one of: {string.Join(", ", Names)}."),
    };
}
