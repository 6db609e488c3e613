using Astmt.Engine;

namespace Astmt.Models.Data;

/// <summary>
/// A batch ready for a model: the images as a B×3×H×W float32 tensor and one target tensor per task (B×H×W int64 for
/// label maps, B×C×H×W float32 otherwise), with the dataset indices and the loader position it was produced at.
/// The caller owns the tensors; <see cref="Dispose"/> returns them to the pool.
/// </summary>
public sealed class MultiTaskBatch : IDisposable
{
    internal MultiTaskBatch(Tensor images, Tensor[] targets, IReadOnlyList<TaskSpec> tasks, int[] indices, LoaderPosition position)
    {
        Images = images;
        Targets = targets;
        Tasks = tasks;
        Indices = indices;
        Position = position;
    }

    /// <summary>Images, B×3×H×W float32.</summary>
    public Tensor Images { get; }

    /// <summary>Per task (in <see cref="Tasks"/> order): B×H×W int64 labels or B×C×H×W float32 values.</summary>
    public Tensor[] Targets { get; }

    /// <summary>The tasks of <see cref="Targets"/>.</summary>
    public IReadOnlyList<TaskSpec> Tasks { get; }

    /// <summary>Dataset index of each batch element.</summary>
    public int[] Indices { get; }

    /// <summary>The (epoch, step) this batch was produced at.</summary>
    public LoaderPosition Position { get; }

    /// <summary>Number of samples.</summary>
    public int Size => Indices.Length;

    /// <summary>The target of the task called <paramref name="name"/>.</summary>
    public Tensor Target(string name)
    {
        for (int t = 0; t < Tasks.Count; t++) if (Tasks[t].Name == name) return Targets[t];
        throw new KeyNotFoundException($"No task '{name}' in this batch; tasks are {string.Join(", ", Tasks.Select(x => x.Name))}.");
    }

    /// <summary>Returns the tensors to the pool.</summary>
    public void Dispose()
    {
        Images.Dispose();
        foreach (var t in Targets) t.Dispose();
    }
}
