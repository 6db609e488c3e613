using Astmt.Models.Astmt;

namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>Turns one evaluation sample's outputs into the maps of a prediction grid: class indices (arg-max) for segmentation,
/// probabilities (sigmoid) for edges and saliency, unit normals, and raw depth, each next to its ground truth (void drawn black).</summary>
internal static class AstmtPredictions
{
    public static PredictionSample Sample(AstmtExperiment experiment, int evalIndex)
    {
        if ((uint)evalIndex >= (uint)experiment.EvalCount)
            throw new ArgumentOutOfRangeException(nameof(evalIndex), $"evaluation sample {evalIndex} is outside [0, {experiment.EvalCount}).");
        using var batch = experiment.Data.EvalBatch([evalIndex]);
        var outputs = experiment.PredictEval(batch.Images);
        int h = batch.Images.Shape[2], w = batch.Images.Shape[3], plane = h * w;

        var image = batch.Images.ToArray<float>();
        var input = new float[plane * 3];
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++) input[p * 3 + c] = Math.Clamp(image[c * plane + p] / 255f, 0f, 1f);

        var tasks = new Dictionary<string, TaskPrediction>();
        var raw = new Dictionary<string, RawOutput>();
        foreach (var task in experiment.NetworkTasks)
        {
            var prediction = outputs[task.Name];
            var values = prediction.ToArray<float>();
            var truth = batch.Truths[task.Name].ToArray<float>();
            int c = task.OutChannels;
            raw[task.Name] = new RawOutput(values, [c, h, w]);
            tasks[task.Name] = task.Kind switch
            {
                AstmtTaskKind.Semseg or AstmtTaskKind.HumanParts => Segmentation(values, truth, c, h, w),
                AstmtTaskKind.Edge or AstmtTaskKind.Saliency => new TaskPrediction(
                    new DenseMap(h, w, 1, AstmtMaps.Sigmoid(values)), new DenseMap(h, w, 1, AstmtMaps.VoidToZero(truth))),
                AstmtTaskKind.Normals => new TaskPrediction(new DenseMap(h, w, 3, Normals(values, plane)), new DenseMap(h, w, 3, ToHwc(AstmtMaps.VoidToZero(truth), 3, plane))),
                _ => new TaskPrediction(new DenseMap(h, w, 1, values), new DenseMap(h, w, 1, AstmtMaps.VoidToZero(truth))),
            };
            prediction.Dispose();
        }
        return new PredictionSample(new DenseMap(h, w, 3, input), tasks, raw);
    }

    private static TaskPrediction Segmentation(float[] scores, float[] truth, int classes, int h, int w)
    {
        var labels = new long[h * w];
        AstmtMaps.ArgMax(scores, classes, labels);
        var predicted = Array.ConvertAll(labels, v => (float)v);
        var gt = Array.ConvertAll(truth, v => v == AstmtMaps.Void ? -1f : v);
        return new TaskPrediction(new DenseMap(h, w, 1, predicted), new DenseMap(h, w, 1, gt));
    }

    private static float[] Normals(float[] chw, int plane)
    {
        var hwc = ToHwc(chw, 3, plane);
        for (int p = 0; p < plane; p++)
        {
            double x = hwc[3 * p], y = hwc[3 * p + 1], z = hwc[3 * p + 2];
            double n = Math.Sqrt(x * x + y * y + z * z) + 1e-12;
            hwc[3 * p] = (float)(x / n);
            hwc[3 * p + 1] = (float)(y / n);
            hwc[3 * p + 2] = (float)(z / n);
        }
        return hwc;
    }

    private static float[] ToHwc(float[] chw, int channels, int plane)
    {
        var hwc = new float[chw.Length];
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < plane; p++) hwc[p * channels + c] = chw[c * plane + p];
        return hwc;
    }
}
