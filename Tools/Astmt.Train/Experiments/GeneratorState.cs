using Astmt.Engine;
using Astmt.Engine.NN;

namespace Astmt.Train.Experiments;

/// <summary>
/// Puts the engine's <see cref="Generator"/> state into a checkpoint: its bytes packed little-endian into an int64 tensor (the
/// dtypes tensors have), and back. Experiments draw all their randomness from generators saved this way, so a resumed run
/// draws the same numbers as one that never stopped.
/// </summary>
public static class GeneratorState
{
    private static readonly int Words = (Generator.StateBytes + sizeof(long) - 1) / sizeof(long);

    /// <summary>The state of <paramref name="generator"/> as an int64 tensor.</summary>
    public static Tensor Save(Generator generator)
    {
        var bytes = new byte[Words * sizeof(long)];
        generator.GetState().CopyTo(bytes, 0);
        var words = new long[Words];
        Buffer.BlockCopy(bytes, 0, words, 0, bytes.Length);
        return Tensor.FromArray(words, Words);
    }

    /// <summary>Restores <paramref name="generator"/> from a tensor written by <see cref="Save"/>; a tensor of another shape or
    /// dtype, or an invalid state, gives a <see cref="ConfigurationException"/> naming <paramref name="name"/>.</summary>
    public static void Restore(Generator generator, Tensor state, string name)
    {
        if (state.DType != DType.Int64 || state.Numel != Words)
            throw new ConfigurationException($"checkpoint tensor '{name}' is {state.Describe()}; expected a generator state of {Words} int64 values.");
        var words = state.ToArray<long>();
        var bytes = new byte[Words * sizeof(long)];
        Buffer.BlockCopy(words, 0, bytes, 0, bytes.Length);
        try
        {
            generator.SetState(bytes.AsSpan(0, Generator.StateBytes));
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException($"checkpoint tensor '{name}' is not a valid generator state ({e.Message}).", e);
        }
    }

    /// <summary>Shuffles <paramref name="items"/> in place with <paramref name="generator"/> (Fisher–Yates).</summary>
    public static void Shuffle(Generator generator, Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = (int)generator.NextInt64(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
