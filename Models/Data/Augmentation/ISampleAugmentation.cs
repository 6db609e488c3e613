namespace Astmt.Models.Data.Augmentation;

/// <summary>
/// A random, in-place transformation of a sample (same size in and out). All randomness comes from
/// the random stream the loader derives from (seed, epoch, sample index), so a run is reproducible and independent of threading.
/// </summary>
public interface ISampleAugmentation
{
    /// <summary>Transforms <paramref name="sample"/> in place.</summary>
    void Apply(MultiTaskSample sample, ref DeterministicRandom rng);
}
