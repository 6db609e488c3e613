using Astmt.Train.Experiments;
using Astmt.Train.Imaging;
using Astmt.Train.IO;

namespace Astmt.Train.Training;

/// <summary>Writes one PNG grid per task (input | prediction | ground truth) for a few fixed evaluation samples.</summary>
public static class PredictionWriter
{
    /// <summary>The evaluation samples drawn: <paramref name="count"/> indices spread evenly over the set, the same every time.</summary>
    public static int[] SampleIndices(int evalCount, int count)
    {
        int n = Math.Min(count, evalCount);
        var indices = new int[n];
        for (int i = 0; i < n; i++) indices[i] = (int)((long)i * evalCount / n);
        return indices;
    }

    /// <summary>Writes <c>FOLDER/TASK.png</c> for every task; returns the paths written (none when there is nothing to draw).</summary>
    public static IReadOnlyList<string> Write(IExperiment experiment, string folder, int count)
    {
        var indices = SampleIndices(experiment.EvalCount, count);
        if (indices.Length == 0) return [];
        var samples = indices.Select(experiment.Predict).ToList();
        var written = new List<string>();
        foreach (var task in experiment.Tasks)
        {
            string path = Path.Combine(folder, task.Name + ".png");
            AtomicFile.WriteAllBytes(path, PngEncoder.Encode(PredictionGrid.Draw(task, samples)));
            written.Add(path);
        }
        return written;
    }
}
