namespace Astmt.Models.Data;

/// <summary>
/// One image with its dense targets, in channels-first layout. The image is 3×H×W float32; a label-map target is an int64
/// H×W map (<see cref="Labels"/>), any other target is C×H×W float32 (<see cref="Values"/>). Buffers are reused between
/// samples by the loader, so a sample is valid until it is handed back.
/// </summary>
public sealed class MultiTaskSample
{
    /// <summary>Allocates buffers for the given tasks and size.</summary>
    public MultiTaskSample(IReadOnlyList<TaskSpec> tasks, int height, int width)
    {
        Tasks = tasks;
        Height = height;
        Width = width;
        Image = new float[3 * height * width];
        Labels = new long[tasks.Count][];
        Values = new float[tasks.Count][];
        for (int t = 0; t < tasks.Count; t++)
        {
            if (tasks[t].Kind.IsLabelMap()) { Labels[t] = new long[height * width]; Values[t] = []; }
            else { Values[t] = new float[tasks[t].Channels * height * width]; Labels[t] = []; }
        }
    }

    /// <summary>The tasks, in the order of <see cref="Labels"/> and <see cref="Values"/>.</summary>
    public IReadOnlyList<TaskSpec> Tasks { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>RGB image, 3×H×W.</summary>
    public float[] Image { get; }

    /// <summary>Per task: the H×W label map (empty for non-label tasks).</summary>
    public long[][] Labels { get; }

    /// <summary>Per task: the C×H×W values (empty for label tasks).</summary>
    public float[][] Values { get; }

    /// <summary>The dataset index this sample was loaded from.</summary>
    public int Index { get; set; }

    /// <summary>Index of the task called <paramref name="name"/>, or an error listing the task names.</summary>
    public int TaskIndex(string name)
    {
        for (int t = 0; t < Tasks.Count; t++) if (Tasks[t].Name == name) return t;
        throw new KeyNotFoundException($"No task '{name}' in this sample; tasks are {string.Join(", ", Tasks.Select(x => x.Name))}.");
    }
}
