using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Models.Astmt;
using Astmt.Models.Losses;
using Astmt.Models.Metrics;

namespace Astmt.Train.Experiments.AstmtModels;

/// <summary>
/// One pass over the evaluation split in eval mode (running batch-norm statistics, no graph): per task the unweighted loss and the
/// metrics of spec §4 with the corrections the issue asks for — mIoU over the split's confusion matrix with background (human
/// parts skip images without parts), normal angles pooled over every valid pixel (true median), saliency max-F and max-mIoU over
/// 15 thresholds, depth RMSE over valid pixels only (the reference counted every pixel), and an ODS F-measure for edges that
/// approximates the MATLAB benchmark (tolerance 0.0075 of the diagonal, no one-to-one matching).
/// </summary>
internal sealed class AstmtEvaluation : IEvaluation
{
    private readonly AstmtExperiment _experiment;
    private readonly Dictionary<string, double> _lossSums = [];
    private readonly Dictionary<string, int> _lossImages = [];
    private readonly Dictionary<string, ConfusionMatrix> _confusion = [];
    private readonly NormalErrorMeter _normals = new(MetricAveraging.WholeSplit) { NormalizePrediction = true, MaskFromNorm = true };
    private readonly DepthErrorMeter _depth = new(MetricAveraging.WholeSplit);
    private readonly SaliencyMeter _saliency = new();
    private readonly EdgeMeter _edges = new();

    public AstmtEvaluation(AstmtExperiment experiment)
    {
        _experiment = experiment;
        foreach (var task in experiment.NetworkTasks)
            if (task.Kind is AstmtTaskKind.Semseg or AstmtTaskKind.HumanParts) _confusion[task.Name] = new ConfusionMatrix(task.OutChannels);
    }

    public void Add(int[] sampleIndices)
    {
        using var batch = _experiment.Data.EvalBatch(sampleIndices);
        var outputs = _experiment.PredictEval(batch.Images);
        int b = batch.Size, h = batch.Images.Shape[2], w = batch.Images.Shape[3], plane = h * w;
        foreach (var task in _experiment.NetworkTasks)
        {
            var prediction = outputs[task.Name];
            var truth = batch.Truths[task.Name];
            if (!batch.IsAllVoid(task.Name))
            {
                using (Autograd.NoGrad())
                using (var loss = AstmtLosses.For(task, prediction, truth, _experiment.Options.Network.EdgePositiveWeight))
                {
                    _lossSums[task.Name] = _lossSums.GetValueOrDefault(task.Name) + loss.Item() * b;
                    _lossImages[task.Name] = _lossImages.GetValueOrDefault(task.Name) + b;
                }
            }
            var raw = prediction.ToArray<float>();
            var gt = truth.ToArray<float>();
            switch (task.Kind)
            {
                case AstmtTaskKind.Edge:
                    _edges.Update(AstmtMaps.Sigmoid(raw), gt, b, h, w);
                    break;
                case AstmtTaskKind.Saliency:
                    _saliency.Update(AstmtMaps.Sigmoid(raw), gt, b);
                    break;
                case AstmtTaskKind.Semseg or AstmtTaskKind.HumanParts:
                    var matrix = _confusion[task.Name];
                    var predicted = new long[plane];
                    for (int n = 0; n < b; n++)
                    {
                        var image = gt.AsSpan(n * plane, plane);
                        if (task.Kind == AstmtTaskKind.HumanParts && AstmtMaps.HasNoParts(image)) continue;
                        AstmtMaps.ArgMax(raw.AsSpan(n * task.OutChannels * plane, task.OutChannels * plane), task.OutChannels, predicted);
                        matrix.Update(predicted, AstmtMaps.Labels(image));
                    }
                    break;
                case AstmtTaskKind.Normals:
                    _normals.Update(raw, AstmtMaps.VoidToZero(gt), b);
                    break;
                default:
                    _depth.Update(raw, AstmtMaps.VoidToZero(gt), b);
                    break;
            }
            prediction.Dispose();
        }
    }

    public EvaluationResult Finish()
    {
        var losses = new Dictionary<string, double>();
        var metrics = new Dictionary<string, IReadOnlyDictionary<string, double>>();
        foreach (var task in _experiment.NetworkTasks)
        {
            // Batches in which the task has no labelled pixel have no loss (as in training); NaN only if no batch had one.
            losses[task.Name] = _lossImages.TryGetValue(task.Name, out int n) && n > 0 ? _lossSums[task.Name] / n : double.NaN;
            metrics[task.Name] = task.Kind switch
            {
                AstmtTaskKind.Edge => Edge(),
                AstmtTaskKind.Saliency => new Dictionary<string, double>
                {
                    ["maxF"] = 100 * _saliency.Result.MaxF,
                    ["max_mIoU"] = 100 * _saliency.Result.MaxMeanIoU,
                },
                AstmtTaskKind.Semseg => new Dictionary<string, double>
                {
                    ["mIoU"] = 100 * _confusion[task.Name].MeanIoUPresent,
                    ["pixel_acc"] = 100 * _confusion[task.Name].PixelAccuracy,
                },
                AstmtTaskKind.HumanParts => new Dictionary<string, double> { ["mIoU"] = 100 * _confusion[task.Name].MeanIoUPresent },
                AstmtTaskKind.Normals => Normals(),
                _ => new Dictionary<string, double> { ["rmse"] = _depth.Result.Rmse, ["abs_err"] = _depth.Result.AbsoluteError },
            };
        }
        string note = AstmtExperiment.MetricNote;
        if (_experiment.Baselines.Describe(_experiment.NetworkTasks, metrics) is { } deltaM) note = deltaM + "; " + note;
        return new EvaluationResult(losses, metrics, note);
    }

    private Dictionary<string, double> Edge()
    {
        var r = _edges.Result;
        return new Dictionary<string, double> { ["odsF"] = 100 * r.OdsF, ["oisF"] = 100 * r.OisF };
    }

    private Dictionary<string, double> Normals()
    {
        var r = _normals.Result;
        return new Dictionary<string, double>
        {
            ["mean"] = r.Mean,
            ["median"] = r.Median,
            ["rmse"] = r.Rmse,
            ["within_11.25"] = 100 * r.Within11,
            ["within_22.5"] = 100 * r.Within22,
            ["within_30"] = 100 * r.Within30,
        };
    }
}
