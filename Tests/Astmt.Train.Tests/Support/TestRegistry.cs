using Astmt.Train.Experiments;

namespace Astmt.Train.Tests.Support;

/// <summary>A registry holding only the <see cref="TinyExperiment"/> test double, as model "tiny".</summary>
public static class TestRegistry
{
    /// <summary>The registry; <paramref name="configure"/> sees every experiment the CLI creates (to hook its steps).</summary>
    public static ExperimentRegistry Create(Action<TinyExperiment>? configure = null) => new ExperimentRegistry().Register(new ExperimentDescriptor
    {
        Name = "tiny",
        Summary = "Two-task test double on plain arrays",
        Datasets = ["synthetic", "nyuv2"],
        Defaults = new Dictionary<string, string> { ["epochs"] = "3", ["height"] = "4", ["width"] = "4", ["lr"] = "0.05", ["batch-size"] = "3", ["threads"] = "1" },
        Presets = new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            ["paper"] = new Dictionary<string, string> { ["epochs"] = "7", ["batch-size"] = "5", ["lr"] = "0.02" },
        },
        Options = [new ModelOption("nan-at-step", "Make the depth loss NaN at this global step", "-1"), ModelOption.Switch("wide", "An unused switch")],
        Create = config =>
        {
            if (config.Height % 4 != 0 || config.Width % 4 != 0)
                throw new ConfigurationException($"--height/--width: {config.Height}x{config.Width} cannot be taken by 'tiny'; expected multiples of 4.");
            var e = new TinyExperiment(config);
            configure?.Invoke(e);
            return e;
        },
    });
}
