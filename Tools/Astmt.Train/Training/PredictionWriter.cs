using Astmt.Models.Data.Npy;
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

    /// <summary>Writes the raw outputs of <paramref name="sample"/> as <c>FOLDER/TASK/INDEX.npy</c> (float32, atomically);
    /// returns how many files were written (none when the experiment gives no raw outputs).</summary>
    public static int WriteRaw(PredictionSample sample, string folder, int index)
    {
        if (sample.RawOutputs == null) return 0;
        foreach (var (task, output) in sample.RawOutputs)
        {
            var array = NpyArray.FromFloat32(output.Values, output.Shape);
            AtomicFile.Write(Path.Combine(folder, task, $"{index}.npy"), stream => NpyWriter.Write(stream, array));
        }
        return sample.RawOutputs.Count;
    }
}
