namespace Astmt.Train.Experiments;

/// <summary>
/// The one place where the shipped models join the trainer. Each model adds an <see cref="ExperimentDescriptor"/> (and the
/// synthetic scenes their writer) in <see cref="RegisterAll"/>; nothing else in the trainer knows about any model.
/// </summary>
public static class BuiltInExperiments
{
    /// <summary>Registers the shipped models and the synthetic-scene writer.</summary>
    public static void RegisterAll(ExperimentRegistry registry)
    {
        // MTAN (issue 5) and ASTMT (issue 6) register here when their experiments land, for example:
        // registry.Register(MtanExperiment.Descriptor);
        // registry.SyntheticWriter = SyntheticScenes.WriteNpy;
        _ = registry;
    }
}
