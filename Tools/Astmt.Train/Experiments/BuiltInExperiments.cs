using Astmt.Models.Synthetic;
using Astmt.Train.Experiments.Mtan;

namespace Astmt.Train.Experiments;

/// <summary>
/// The one place where the shipped models join the trainer. Each model adds an <see cref="ExperimentDescriptor"/> in
/// <see cref="RegisterAll"/>; nothing else in the trainer knows about any model.
/// </summary>
public static class BuiltInExperiments
{
    /// <summary>Registers the shipped models and the synthetic-scene writer.</summary>
    public static void RegisterAll(ExperimentRegistry registry)
    {
        // MTAN (issue 5) and ASTMT (issue 6) register their experiments here as they land, e.g.
        // registry.Register(MtanExperiment.Descriptor);
        MtanExperiments.Register(registry);
        AstmtModels.AstmtExperiments.Register(registry);
        registry.SyntheticWriter = WriteSyntheticScenes;
    }

    private static void WriteSyntheticScenes(SynthRequest request)
    {
        if (request.Seed < 0) throw new ConfigurationException($"--seed: '{request.Seed}' is not valid for data synth; expected a whole number ≥ 0.");
        if (request.Layout == "astmt")
            SyntheticNpyWriter.WriteAstmtLayout(request.Out, request.Count, request.ValCount, request.Height, request.Width, (ulong)request.Seed);
        else
            SyntheticNpyWriter.WriteNyuV2Layout(request.Out, request.Count, request.ValCount, request.Height, request.Width, (ulong)request.Seed);
        request.Progress(request.Count + request.ValCount);
    }
}
