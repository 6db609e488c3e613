using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>Reads the parts of an <see cref="ExperimentState"/> with errors that name the tensor and what was expected.</summary>
internal static class MtanStateLoader
{
    /// <summary>Loads the network's weights and BN statistics from the <c>model.</c> tensors of a checkpoint, or from the bare
    /// state-dict names of an imported PyTorch file.</summary>
    public static void LoadWeights(Module network, ExperimentState state, string model)
    {
        var prefixed = state.Tensors.Where(p => p.Key.StartsWith("model.", StringComparison.Ordinal))
            .ToDictionary(p => p.Key["model.".Length..], p => p.Value);
        var weights = prefixed.Count > 0 ? prefixed : state.Tensors.ToDictionary(p => p.Key, p => p.Value);
        try
        {
            network.LoadStateDict(weights, strict: true);
        }
        catch (StateDictMismatchException e)
        {
            throw new ConfigurationException($"the weights do not fit '{model}' at this width: {OneLine(e.Message)}", e);
        }
    }

    /// <summary>The tensor <paramref name="name"/>, checked to have <paramref name="shape"/>.</summary>
    public static Tensor Require(ExperimentState state, string name, int[] shape)
    {
        if (!state.Tensors.TryGetValue(name, out var t))
            throw new ConfigurationException($"the checkpoint has no tensor '{name}'; expected a checkpoint written by an MTAN 'train' run.");
        if (!t.Shape.SequenceEqual(shape))
            throw new ConfigurationException($"the checkpoint's '{name}' is {t.Describe()}; expected shape [{string.Join(", ", shape)}].");
        return t;
    }

    /// <summary>The metadata string <paramref name="name"/>.</summary>
    public static string Meta(ExperimentState state, string name) =>
        state.Metadata.TryGetValue(name, out var v) ? v
            : throw new ConfigurationException($"the checkpoint has no metadata '{name}'; expected a checkpoint written by an MTAN 'train' run.");

    /// <summary>Copies <paramref name="source"/> into the parameter <paramref name="target"/> in place.</summary>
    public static void CopyInto(Tensor target, Tensor source)
    {
        using (Autograd.NoGrad())
        {
            var converted = source.DType == target.DType ? source : source.To(target.DType);
            target.CopyFrom(converted);
        }
    }

    private static string OneLine(string text) => string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
