namespace Astmt.Models.Data;

/// <summary>
/// A multi-task dense-prediction dataset: every sample is an image plus one dense target per task, all the same size.
/// <see cref="Load"/> must be thread-safe (the loader calls it from background workers) and deterministic for an index.
/// </summary>
public interface IMultiTaskDataset
{
    /// <summary>A short name for messages and logs (e.g. "nyuv2/train").</summary>
    string Name { get; }

    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Image height of every sample.</summary>
    int Height { get; }

    /// <summary>Image width of every sample.</summary>
    int Width { get; }

    /// <summary>The tasks, in the order targets are stored.</summary>
    IReadOnlyList<TaskSpec> Tasks { get; }

    /// <summary>Fills <paramref name="into"/> (allocated for this dataset's tasks and size) with sample <paramref name="index"/>.</summary>
    void Load(int index, MultiTaskSample into);
}
