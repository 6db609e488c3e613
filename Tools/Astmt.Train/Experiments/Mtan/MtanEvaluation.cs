using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Models.Losses;
using Astmt.Models.Metrics;
using Astmt.Models.Mtan;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>
/// A pass over the evaluation split in eval mode (BN running statistics, no graph): per-task losses averaged over samples, the
/// semantic confusion matrix over the split, and depth and normal errors pooled as the run's <c>metric-averaging</c> says.
/// </summary>
internal sealed class MtanEvaluation : IEvaluation
{
    private readonly MtanExperiment _owner;
    private readonly double[] _lossSums;
    private readonly double[] _confusion;
    private readonly DepthErrorMeter _depth;
    private readonly NormalErrorMeter _normal;
    private readonly int _classes;
    private int _samples;

    public MtanEvaluation(MtanExperiment owner)
    {
        _owner = owner;
        _classes = owner.Network.ClassCount;
        _lossSums = new double[owner.NetworkTasks.Count];
        _confusion = new double[_classes * _classes];
        _depth = new DepthErrorMeter(owner.Options.Averaging);
        _normal = new NormalErrorMeter(owner.Options.Averaging);
    }

    public void Add(int[] sampleIndices)
    {
        using var batch = _owner.Data.EvalBatch(sampleIndices);
        var predictions = _owner.PredictEval(batch.Images);
        try
        {
            using (Autograd.NoGrad())
            {
                for (int t = 0; t < predictions.Length; t++)
                {
                    var task = _owner.NetworkTasks[t];
                    var truth = batch.Target(_owner.TaskNames[t]);
                    var loss = MtanLosses.For(task, predictions[t], truth);
                    _lossSums[t] += loss.Item() * batch.Size;
                    loss.Dispose();
                    switch (task)
                    {
                        case MtanTask.Semantic:
                            var cm = new ConfusionMatrix(_classes);
                            cm.Update(predictions[t], truth);
                            for (int i = 0; i < _classes; i++)
                                for (int j = 0; j < _classes; j++) _confusion[i * _classes + j] += cm[i, j];
                            break;
                        case MtanTask.Depth: _depth.Update(predictions[t], truth); break;
                        default: _normal.Update(predictions[t], truth); break;
                    }
                }
            }
        }
        finally
        {
            foreach (var p in predictions) p.Dispose();
        }
        _samples += batch.Size;
    }

    public EvaluationResult Finish()
    {
        var losses = new Dictionary<string, double>();
        var metrics = new Dictionary<string, IReadOnlyDictionary<string, double>>();
        for (int t = 0; t < _lossSums.Length; t++)
        {
            string name = _owner.TaskNames[t];
            losses[name] = _samples == 0 ? double.NaN : _lossSums[t] / _samples;
            var m = new Dictionary<string, double>();
            switch (_owner.NetworkTasks[t])
            {
                case MtanTask.Semantic:
                    (m[MtanMetricNames.MeanIoU], m[MtanMetricNames.PixelAccuracy]) = MtanMetricNames.FromConfusion(_confusion, _classes);
                    break;
                case MtanTask.Depth:
                    var d = _depth.Result;
                    m[MtanMetricNames.AbsoluteError] = d.AbsoluteError;
                    m[MtanMetricNames.RelativeError] = d.RelativeError;
                    break;
                default:
                    var n = _normal.Result;
                    m[MtanMetricNames.MeanAngle] = n.Mean;
                    m[MtanMetricNames.MedianAngle] = n.Median;
                    m[MtanMetricNames.Within11] = n.Within11;
                    m[MtanMetricNames.Within22] = n.Within22;
                    m[MtanMetricNames.Within30] = n.Within30;
                    break;
            }
            metrics[name] = m;
        }
        return new EvaluationResult(losses, metrics, _owner.Note);
    }
}
