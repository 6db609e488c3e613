using Astmt.Engine;
using Astmt.Models.Metrics;
using Astmt.Models.Mtan;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>
/// Training metrics accumulated over the batches of an epoch, pooled over every valid pixel: the semantic confusion matrix,
/// depth absolute and relative error sums, and normal angle sums and threshold counts. The state is a plain vector of doubles
/// so that a checkpoint taken mid-epoch carries it and the resumed epoch reports the same numbers. (The normals' median needs
/// every angle and is reported for evaluation only.)
/// </summary>
internal sealed class MtanTrainMetrics
{
    private readonly IReadOnlyList<MtanTask> _tasks;
    private readonly int _classes;
    private readonly double[] _state;
    private readonly int[] _offsets;

    public MtanTrainMetrics(IReadOnlyList<MtanTask> tasks, int classes)
    {
        _tasks = tasks;
        _classes = classes;
        _offsets = new int[tasks.Count];
        int size = 0;
        for (int t = 0; t < tasks.Count; t++)
        {
            _offsets[t] = size;
            size += tasks[t] switch { MtanTask.Semantic => classes * classes, MtanTask.Depth => 3, _ => 5 };
        }
        _state = new double[size];
    }

    /// <summary>The accumulators, for checkpoints.</summary>
    public double[] State => _state;

    /// <summary>Restores accumulators saved from <see cref="State"/>.</summary>
    public void Restore(double[] state)
    {
        if (state.Length != _state.Length)
            throw new ConfigurationException($"The train-metric state holds {state.Length} values; this model and dataset need {_state.Length}.");
        state.CopyTo(_state, 0);
    }

    /// <summary>Adds a batch: the predictions of task t (in network order) and its ground truth.</summary>
    public void Add(int t, Tensor prediction, Tensor truth)
    {
        int o = _offsets[t];
        switch (_tasks[t])
        {
            case MtanTask.Semantic:
                var cm = new ConfusionMatrix(_classes);
                cm.Update(prediction, truth);
                for (int i = 0; i < _classes; i++)
                    for (int j = 0; j < _classes; j++) _state[o + i * _classes + j] += cm[i, j];
                break;
            case MtanTask.Depth:
                var depth = new DepthErrorMeter(MetricAveraging.WholeSplit);
                depth.Update(prediction, truth);
                var d = depth.Result;
                if (d.ValidPixels == 0) break;
                _state[o] += d.AbsoluteError * d.ValidPixels;
                _state[o + 1] += d.RelativeError * d.ValidPixels;
                _state[o + 2] += d.ValidPixels;
                break;
            default:
                var normal = new NormalErrorMeter(MetricAveraging.WholeSplit);
                normal.Update(prediction, truth);
                var n = normal.Result;
                if (n.ValidPixels == 0) break;
                _state[o] += n.Mean * n.ValidPixels;
                _state[o + 1] += n.Within11 * n.ValidPixels;
                _state[o + 2] += n.Within22 * n.ValidPixels;
                _state[o + 3] += n.Within30 * n.ValidPixels;
                _state[o + 4] += n.ValidPixels;
                break;
        }
    }

    /// <summary>The metrics so far per task name, then clears the accumulators.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Take()
    {
        var result = new Dictionary<string, IReadOnlyDictionary<string, double>>();
        for (int t = 0; t < _tasks.Count; t++)
        {
            int o = _offsets[t];
            var m = new Dictionary<string, double>();
            switch (_tasks[t])
            {
                case MtanTask.Semantic:
                    (m[MtanMetricNames.MeanIoU], m[MtanMetricNames.PixelAccuracy]) = MtanMetricNames.FromConfusion(_state.AsSpan(o, _classes * _classes), _classes);
                    break;
                case MtanTask.Depth:
                    m[MtanMetricNames.AbsoluteError] = _state[o] / _state[o + 2];
                    m[MtanMetricNames.RelativeError] = _state[o + 1] / _state[o + 2];
                    break;
                default:
                    m[MtanMetricNames.MeanAngle] = _state[o] / _state[o + 4];
                    m[MtanMetricNames.Within11] = _state[o + 1] / _state[o + 4];
                    m[MtanMetricNames.Within22] = _state[o + 2] / _state[o + 4];
                    m[MtanMetricNames.Within30] = _state[o + 3] / _state[o + 4];
                    break;
            }
            result[MtanTasks.Name(_tasks[t])] = m;
        }
        Array.Clear(_state);
        return result;
    }
}
