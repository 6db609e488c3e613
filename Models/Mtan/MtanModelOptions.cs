namespace Astmt.Models.Mtan;

/// <summary>Options of <see cref="MtanModels.Create"/>.</summary>
public sealed record MtanModelOptions
{
    /// <summary>The dataset, which fixes the class count and the tasks.</summary>
    public MtanDataset Dataset { get; init; } = MtanDataset.NyuV2;

    /// <summary>Overrides the dataset's class count (for example CityScapes' label_2 or label_19 maps); null keeps it.</summary>
    public int? ClassCount { get; init; }

    /// <summary>Multiplies every filter width (1 = the paper's networks; 0.125 = the golden fixture's).</summary>
    public double Width { get; init; } = 1.0;

    /// <summary>The task of the single-task networks (segnet-single, stan).</summary>
    public MtanTask SingleTask { get; init; } = MtanTask.Semantic;

    /// <summary>Seed of the generator the initialisation draws from.</summary>
    public ulong Seed { get; init; }

    /// <summary>When false, parameters are left uninitialised (for counting, or before loading a checkpoint).</summary>
    public bool Initialize { get; init; } = true;
}
