using Astmt.Models.Data.Augmentation;

namespace Astmt.Models.Data;

/// <summary>Settings of a <see cref="BatchLoader"/>. Defaults follow the MTAN reference's training loader.</summary>
public sealed record BatchLoaderOptions
{
    /// <summary>Samples per batch (MTAN: 2; ASTMT: 8).</summary>
    public int BatchSize { get; init; } = 2;

    /// <summary>Reorder samples every epoch (a fresh permutation derived from <see cref="Seed"/> and the epoch).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Drop a last, incomplete batch (MTAN: false; ASTMT: true).</summary>
    public bool DropLast { get; init; }

    /// <summary>Seed of the order and of the augmentation.</summary>
    public ulong Seed { get; init; }

    /// <summary>Optional augmentation applied to each sample; null for none (the MTAN paper's setting).</summary>
    public ISampleAugmentation? Augmentation { get; init; }

    /// <summary>Batches prepared ahead on a background thread; 0 loads synchronously in <see cref="BatchLoader.Next"/>.</summary>
    public int PrefetchBatches { get; init; } = 2;
}
