using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Models.Astmt;

namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>Loads ASTMT weights from a checkpoint (<c>model.</c>-prefixed tensors) or from imported reference weights (the bare
/// state-dict names, such as <c>layer1.0.bn1.edge.weight</c>), reporting the first problems as a <see cref="ConfigurationException"/>.</summary>
internal static class AstmtStateLoader
{
    private const string Prefix = "model.";

    /// <summary>Copies the network's tensors out of <paramref name="tensors"/> into <paramref name="network"/>.</summary>
    public static void LoadWeights(AstmtNetwork network, IReadOnlyDictionary<string, Tensor> tensors)
    {
        bool prefixed = tensors.Keys.Any(k => k.StartsWith(Prefix, StringComparison.Ordinal));
        IReadOnlyDictionary<string, Tensor> weights = prefixed
            ? tensors.Where(p => p.Key.StartsWith(Prefix, StringComparison.Ordinal)).ToDictionary(p => p.Key[Prefix.Length..], p => p.Value)
            : tensors;
        try
        {
            network.LoadStateDict(weights, strict: true);
        }
        catch (StateDictMismatchException e)
        {
            string first = e.Mismatches.FirstOrDefault()
                ?? (e.MissingKeys.Count > 0 ? $"missing '{e.MissingKeys[0]}' ({e.MissingKeys.Count} missing)" : $"unexpected '{e.UnexpectedKeys[0]}' ({e.UnexpectedKeys.Count} unexpected)");
            throw new ConfigurationException($"the weights do not fit this {network.Config.Backbone} ASTMT network " +
                $"(tasks {string.Join(",", network.Tasks)}; se-encoder, se-decoder, adapters and adversarial must match the run that wrote them): {first}.", e);
        }
    }
}
