using Astmt.Train.Config;
using Astmt.Train.Experiments;

namespace Astmt.Train.Tests.Support;

/// <summary>A run configuration resolved as the trainer resolves its command line, against the real experiment registry.</summary>
public static class FlagConfig
{
    /// <summary>The fixed clock the resolved runs are stamped with, so run names and hashes do not depend on the day.</summary>
    public static readonly DateTime Now = new(2026, 1, 2, 3, 4, 5);

    /// <summary>Resolves <paramref name="flags"/> (flag name → value, as given with --name value) with no config file.</summary>
    public static RunConfig Resolve(IReadOnlyDictionary<string, string> flags) =>
        ConfigResolver.Resolve(ExperimentRegistry.CreateDefault(), ConfigLayer.From(flags, "flags"), null, Now);
}
