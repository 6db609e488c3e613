using Astmt.Models.Data;

namespace Astmt.Train.Experiments;

/// <summary>
/// Loads samples of a dataset by index, keeping each one after its first load when <c>keep</c> is set (small sets: the synthetic
/// default is rendered once instead of every epoch). Thread-safe; a kept sample must not be modified by its readers.
/// </summary>
internal sealed class SampleCache(IMultiTaskDataset dataset, bool keep)
{
    private readonly MultiTaskSample?[] _kept = keep ? new MultiTaskSample?[dataset.Count] : [];

    /// <summary>True when samples are kept after their first load.</summary>
    public bool Keeps => keep;

    /// <summary>The dataset behind the cache.</summary>
    public IMultiTaskDataset Dataset { get; } = dataset;

    /// <summary>Sample <paramref name="index"/>: the kept instance, or a freshly loaded one.</summary>
    public MultiTaskSample Get(int index)
    {
        if (keep && Volatile.Read(ref _kept[index]) is { } kept) return kept;
        var sample = new MultiTaskSample(Dataset.Tasks, Dataset.Height, Dataset.Width);
        Dataset.Load(index, sample);
        if (keep) Interlocked.CompareExchange(ref _kept[index], sample, null);
        return keep ? _kept[index]! : sample;
    }

    /// <summary>A deep copy (for augmenting a kept sample).</summary>
    public static MultiTaskSample Copy(MultiTaskSample source)
    {
        var copy = new MultiTaskSample(source.Tasks, source.Height, source.Width) { Index = source.Index };
        source.Image.CopyTo(copy.Image, 0);
        for (int t = 0; t < source.Tasks.Count; t++)
        {
            source.Labels[t].CopyTo(copy.Labels[t], 0);
            source.Values[t].CopyTo(copy.Values[t], 0);
        }
        return copy;
    }

    /// <summary>Bytes one sample of <paramref name="dataset"/> holds.</summary>
    public static long BytesPerSample(IMultiTaskDataset dataset)
    {
        long plane = (long)dataset.Height * dataset.Width, bytes = 3 * plane * sizeof(float);
        foreach (var task in dataset.Tasks)
            bytes += task.Kind.IsLabelMap() ? plane * sizeof(long) : task.Channels * plane * sizeof(float);
        return bytes;
    }
}
