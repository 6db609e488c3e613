using Astmt.Models.Data;
using Astmt.Models.Mtan;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>One evaluation sample's input, predictions and ground truth in the trainer's channels-last maps, and the raw
/// channels-first outputs for <c>predict</c> (semantic log-probabilities, depth, unit normals).</summary>
internal static class MtanPredictions
{
    public static PredictionSample Sample(MtanExperiment owner, int evalIndex)
    {
        if ((uint)evalIndex >= (uint)owner.EvalCount)
            throw new ArgumentOutOfRangeException(nameof(evalIndex), $"evaluation sample {evalIndex} outside [0, {owner.EvalCount}).");
        var sample = owner.Data.EvalSample(evalIndex);
        int h = sample.Height, w = sample.Width, plane = h * w;
        using var batch = owner.Data.EvalBatch([evalIndex]);
        var predictions = owner.PredictEval(batch.Images);
        var tasks = new Dictionary<string, TaskPrediction>();
        var raw = new Dictionary<string, RawOutput>();
        try
        {
            for (int t = 0; t < predictions.Length; t++)
            {
                var task = owner.NetworkTasks[t];
                string name = owner.TaskNames[t];
                float[] output = predictions[t].ToArray<float>();
                int channels = predictions[t].Shape[1];
                raw[name] = new RawOutput(output, [channels, h, w]);
                int dataTask = sample.TaskIndex(name);
                if (task == MtanTask.Semantic)
                {
                    var predicted = new float[plane];
                    var truth = new float[plane];
                    for (int i = 0; i < plane; i++)
                    {
                        int best = 0;
                        for (int c = 1; c < channels; c++)
                            if (output[c * plane + i] > output[best * plane + i]) best = c;
                        predicted[i] = best;
                        truth[i] = sample.Labels[dataTask][i];
                    }
                    tasks[name] = new TaskPrediction(new DenseMap(h, w, 1, predicted), new DenseMap(h, w, 1, truth));
                }
                else
                {
                    tasks[name] = new TaskPrediction(new DenseMap(h, w, channels, ChannelsLast(output, channels, plane)),
                        new DenseMap(h, w, channels, ChannelsLast(sample.Values[dataTask], channels, plane)));
                }
            }
        }
        finally
        {
            foreach (var p in predictions) p.Dispose();
        }
        var image = ChannelsLast(sample.Image, 3, plane);
        for (int i = 0; i < image.Length; i++) image[i] = Math.Clamp(image[i], 0f, 1f);
        return new PredictionSample(new DenseMap(h, w, 3, image), tasks, raw);
    }

    private static float[] ChannelsLast(float[] chw, int channels, int plane)
    {
        var hwc = new float[channels * plane];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < plane; i++) hwc[i * channels + c] = chw[c * plane + i];
        return hwc;
    }
}
