using Astmt.Models.Data.Npy;

namespace Astmt.Models.Data;

/// <summary>
/// Writes any <see cref="IMultiTaskDataset"/> into the one-file-per-array .npy layout the readers understand:
/// <c>{splitDir}/image/{i}.npy</c> (H×W×3 float32) and <c>{splitDir}/{folder}/{i}.npy</c> per task (label maps H×W float32 as
/// the MTAN reference stores them, or H×W×C float32 for dense targets; depth H×W×1).
/// </summary>
public static class NpyLayoutWriter
{
    /// <summary>Writes samples [0, count) of <paramref name="dataset"/>; <paramref name="folders"/> names each task's folder.</summary>
    public static void Write(IMultiTaskDataset dataset, string splitDirectory, IReadOnlyList<string> folders, int count, float imageScale = 1f)
    {
        if (folders.Count != dataset.Tasks.Count)
            throw new ArgumentException($"{dataset.Name}: {folders.Count} folder names for {dataset.Tasks.Count} tasks.");
        if (count > dataset.Count) throw new ArgumentOutOfRangeException(nameof(count), $"{dataset.Name} has {dataset.Count} samples, not {count}.");
        int h = dataset.Height, w = dataset.Width, plane = h * w;
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            () => (sample: new MultiTaskSample(dataset.Tasks, h, w), hwc: new float[3 * plane]),
            (i, _, state) =>
            {
                var (sample, hwc) = state;
                dataset.Load(i, sample);
                ToHwc(sample.Image, hwc, 3, plane, imageScale);
                NpyWriter.Write(Path.Combine(splitDirectory, "image", $"{i}.npy"), hwc, h, w, 3);
                for (int t = 0; t < dataset.Tasks.Count; t++)
                {
                    var task = dataset.Tasks[t];
                    string path = Path.Combine(splitDirectory, folders[t], $"{i}.npy");
                    if (task.Kind.IsLabelMap())
                    {
                        var labels = sample.Labels[t];
                        var asFloat = hwc.AsSpan(0, plane);
                        for (int k = 0; k < plane; k++) asFloat[k] = labels[k];
                        NpyWriter.Write(path, asFloat, h, w);
                    }
                    else
                    {
                        int c = task.Channels;
                        ToHwc(sample.Values[t], hwc, c, plane, 1f);
                        NpyWriter.Write(path, hwc.AsSpan(0, c * plane), h, w, c);
                    }
                }
                return state;
            },
            _ => { });
    }

    private static void ToHwc(float[] chw, float[] hwc, int channels, int plane, float scale)
    {
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < channels; c++)
                hwc[i * channels + c] = chw[c * plane + i] * scale;
    }
}
