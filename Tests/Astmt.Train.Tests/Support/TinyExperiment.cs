using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Train.Config;
using Astmt.Train.Experiments;

namespace Astmt.Train.Tests.Support;

/// <summary>
/// A test double for the trainer's own logic: a real but tiny two-task model (per-pixel logistic segmentation and linear
/// depth regression over RGB, four weights each) trained with momentum SGD on procedurally generated 4×4 images, computed
/// with plain float64 arrays. It stands in for MTAN/ASTMT, which are not available on the engine yet. It has everything the
/// trainer must carry across a resume: weights, optimizer moments, an augmentation RNG, DWA loss history and train-metric
/// accumulators; so the resume tests fail if any of them is lost or restored wrongly.
/// </summary>
public sealed class TinyExperiment : IExperiment
{
    private const int Features = 4; // r, g, b, bias
    private readonly RunConfig _config;
    private readonly int _size;
    private readonly int _nanAtStep;
    private double[] _wSeg = new double[Features], _wDepth = new double[Features];
    private double[] _mSeg = new double[Features], _mDepth = new double[Features];
    private readonly double[] _gSeg = new double[Features], _gDepth = new double[Features];
    private readonly Generator _augment;
    private long _optimizerSteps;
    // DWA: mean train losses of the last two epochs (seg, depth), and how many epochs have been seen.
    private double[] _lossHistory = new double[4];
    private int _epochsSeen;
    private double[] _weights = [1, 1];
    // Train metrics: correct, valid (seg); sum |err|, count (depth).
    private double[] _trainAccumulators = new double[4];

    /// <summary>Called after every <see cref="TrainStep"/> with its batch and losses (the tests record curves and trigger Ctrl-C here).</summary>
    public Action<TrainBatch, IReadOnlyDictionary<string, double>>? OnStep { get; set; }

    /// <summary>Creates the experiment for a resolved configuration.</summary>
    public TinyExperiment(RunConfig config)
    {
        _config = config;
        _size = config.Height;
        _nanAtStep = int.Parse(config.Option("nan-at-step", "-1"), System.Globalization.CultureInfo.InvariantCulture);
        var init = new Generator((ulong)config.Seed * 3 + 1);
        for (int i = 0; i < Features; i++)
        {
            _wSeg[i] = 0.1 * init.NextNormal();
            _wDepth[i] = 0.1 * init.NextNormal();
        }
        _augment = new Generator((ulong)config.Seed * 3 + 2);
    }

    public IReadOnlyList<TaskInfo> Tasks { get; } =
    [
        new("semantic", MapKind.Segmentation, [new MetricInfo("acc", true)], Classes: 2),
        new("depth", MapKind.Depth, [new MetricInfo("abs_err", false)]),
    ];

    public int TrainCount => 10;
    public int EvalCount => 6;

    public IReadOnlyList<KeyValuePair<string, string>> Describe() => [new("parameters", "8"), new("kind", "test double")];

    public IReadOnlyDictionary<string, double>? TaskWeights =>
        _config.Weighting == "equal" ? null : new Dictionary<string, double> { ["semantic"] = _weights[0], ["depth"] = _weights[1] };

    // ---------------------------------------------------------------- data

    /// <summary>Pixel (y, x) of sample <paramref name="index"/>: RGB in [0, 1), a label (−1 void) and a positive depth.</summary>
    private (double R, double G, double B, int Label, double Depth) Pixel(bool train, int index, int y, int x)
    {
        var rng = new Generator((ulong)(((_config.Seed * 1_000_003 + (train ? 0 : 500_000) + index) * 64 + y) * 64 + x));
        double r = rng.NextDouble(), g = rng.NextDouble(), b = rng.NextDouble();
        int label = (x + y + index) % 7 == 0 ? -1 : (0.8 * r - 0.5 * g + 0.3 * b > 0.2 ? 1 : 0);
        return (r, g, b, label, 1 + 2 * r + g - b + 0.5);
    }

    private static double Dot(double[] w, double r, double g, double b) => w[0] * r + w[1] * g + w[2] * b + w[3];

    // ---------------------------------------------------------------- training

    public IReadOnlyDictionary<string, double> TrainStep(TrainBatch batch)
    {
        Array.Clear(_gSeg);
        Array.Clear(_gDepth);
        double segLoss = 0, depthLoss = 0;
        int valid = 0, pixels = 0;
        foreach (int index in batch.SampleIndices)
            for (int y = 0; y < _size; y++)
                for (int x = 0; x < _size; x++)
                {
                    var p = Pixel(true, index, y, x);
                    // Augmentation noise: consumes the RNG, so a resume that loses its state gives different losses.
                    double r = p.R + 0.01 * _augment.NextNormal(), g = p.G, b = p.B;
                    double[] f = [r, g, b, 1];
                    double depth = Dot(_wDepth, r, g, b), err = depth - p.Depth;
                    depthLoss += err * err;
                    for (int k = 0; k < Features; k++) _gDepth[k] += 2 * err * f[k];
                    _trainAccumulators[2] += Math.Abs(err);
                    _trainAccumulators[3] += 1;
                    pixels++;
                    if (p.Label < 0) continue;
                    double z = Dot(_wSeg, r, g, b), s = 1 / (1 + Math.Exp(-z));
                    segLoss += p.Label == 1 ? -Math.Log(s) : -Math.Log(1 - s);
                    for (int k = 0; k < Features; k++) _gSeg[k] += (s - p.Label) * f[k];
                    if ((s > 0.5 ? 1 : 0) == p.Label) _trainAccumulators[0]++;
                    _trainAccumulators[1]++;
                    valid++;
                }
        for (int k = 0; k < Features; k++)
        {
            _gSeg[k] *= _weights[0] / Math.Max(1, valid);
            _gDepth[k] *= _weights[1] / pixels;
        }
        var losses = new Dictionary<string, double>
        {
            ["semantic"] = segLoss / Math.Max(1, valid),
            ["depth"] = batch.GlobalStep == _nanAtStep ? double.NaN : depthLoss / pixels,
        };
        OnStep?.Invoke(batch, losses);
        return losses;
    }

    public void ApplyUpdate()
    {
        for (int k = 0; k < Features; k++)
        {
            _mSeg[k] = 0.9 * _mSeg[k] + _gSeg[k];
            _mDepth[k] = 0.9 * _mDepth[k] + _gDepth[k];
            _wSeg[k] -= _config.LearningRate * _mSeg[k];
            _wDepth[k] -= _config.LearningRate * _mDepth[k];
        }
        _optimizerSteps++;
    }

    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> TakeTrainMetrics()
    {
        var m = new Dictionary<string, IReadOnlyDictionary<string, double>>
        {
            ["semantic"] = new Dictionary<string, double> { ["acc"] = _trainAccumulators[0] / Math.Max(1, _trainAccumulators[1]) },
            ["depth"] = new Dictionary<string, double> { ["abs_err"] = _trainAccumulators[2] / Math.Max(1, _trainAccumulators[3]) },
        };
        Array.Clear(_trainAccumulators);
        return m;
    }

    public void EndEpoch(EpochEnd epochEnd)
    {
        // DWA (temperature 2): weights from the ratio of the last two epochs' losses; 1 for the first two epochs.
        _lossHistory[0] = _lossHistory[2];
        _lossHistory[1] = _lossHistory[3];
        _lossHistory[2] = epochEnd.MeanTrainLosses["semantic"];
        _lossHistory[3] = epochEnd.MeanTrainLosses["depth"];
        _epochsSeen++;
        if (_config.Weighting == "dwa" && _epochsSeen >= 2)
        {
            double e0 = Math.Exp(_lossHistory[2] / _lossHistory[0] / 2), e1 = Math.Exp(_lossHistory[3] / _lossHistory[1] / 2);
            _weights = [2 * e0 / (e0 + e1), 2 * e1 / (e0 + e1)];
        }
    }

    // ---------------------------------------------------------------- evaluation

    public IEvaluation BeginEvaluation() => new Evaluation(this);

    private sealed class Evaluation(TinyExperiment owner) : IEvaluation
    {
        private double _segLoss, _depthLoss, _correct, _valid, _absErr, _pixels;

        public void Add(int[] sampleIndices)
        {
            foreach (int index in sampleIndices)
                for (int y = 0; y < owner._size; y++)
                    for (int x = 0; x < owner._size; x++)
                    {
                        var p = owner.Pixel(false, index, y, x);
                        double err = Dot(owner._wDepth, p.R, p.G, p.B) - p.Depth;
                        _depthLoss += err * err;
                        _absErr += Math.Abs(err);
                        _pixels++;
                        if (p.Label < 0) continue;
                        double s = 1 / (1 + Math.Exp(-Dot(owner._wSeg, p.R, p.G, p.B)));
                        _segLoss += p.Label == 1 ? -Math.Log(s) : -Math.Log(1 - s);
                        if ((s > 0.5 ? 1 : 0) == p.Label) _correct++;
                        _valid++;
                    }
        }

        public EvaluationResult Finish() => new(
            new Dictionary<string, double> { ["semantic"] = _segLoss / _valid, ["depth"] = _depthLoss / _pixels },
            new Dictionary<string, IReadOnlyDictionary<string, double>>
            {
                ["semantic"] = new Dictionary<string, double> { ["acc"] = _correct / _valid },
                ["depth"] = new Dictionary<string, double> { ["abs_err"] = _absErr / _pixels },
            },
            "whole-split statistics");
    }

    public PredictionSample Predict(int evalIndex)
    {
        int n = _size * _size;
        float[] input = new float[n * 3], segPred = new float[n], segTrue = new float[n], depthPred = new float[n], depthTrue = new float[n];
        float[] logProbabilities = new float[2 * n]; // [2, H, W]
        for (int y = 0; y < _size; y++)
            for (int x = 0; x < _size; x++)
            {
                var p = Pixel(false, evalIndex, y, x);
                int i = y * _size + x;
                (input[3 * i], input[3 * i + 1], input[3 * i + 2]) = ((float)p.R, (float)p.G, (float)p.B);
                double z = Dot(_wSeg, p.R, p.G, p.B);
                segPred[i] = z > 0 ? 1 : 0;
                logProbabilities[i] = (float)-Math.Log(1 + Math.Exp(z));      // log(1 − sigmoid(z))
                logProbabilities[n + i] = (float)-Math.Log(1 + Math.Exp(-z)); // log(sigmoid(z))
                segTrue[i] = p.Label;
                depthPred[i] = (float)Dot(_wDepth, p.R, p.G, p.B);
                depthTrue[i] = (float)p.Depth;
            }
        return new PredictionSample(new DenseMap(_size, _size, 3, input), new Dictionary<string, TaskPrediction>
        {
            ["semantic"] = new(new DenseMap(_size, _size, 1, segPred), new DenseMap(_size, _size, 1, segTrue)),
            ["depth"] = new(new DenseMap(_size, _size, 1, depthPred), new DenseMap(_size, _size, 1, depthTrue)),
        }, new Dictionary<string, RawOutput>
        {
            ["semantic"] = new(logProbabilities, [2, _size, _size]),
            ["depth"] = new((float[])depthPred.Clone(), [1, _size, _size]),
        });
    }

    // ---------------------------------------------------------------- state

    public ExperimentState CaptureState() => new(
        new Dictionary<string, Tensor>
        {
            ["model.seg.weight"] = Tensor.FromArray((double[])_wSeg.Clone(), Features),
            ["model.depth.weight"] = Tensor.FromArray((double[])_wDepth.Clone(), Features),
            ["optim.seg.momentum"] = Tensor.FromArray((double[])_mSeg.Clone(), Features),
            ["optim.depth.momentum"] = Tensor.FromArray((double[])_mDepth.Clone(), Features),
            ["rng.augment"] = GeneratorState.Save(_augment),
            ["weighting.loss_history"] = Tensor.FromArray((double[])_lossHistory.Clone(), 4),
            ["weighting.weights"] = Tensor.FromArray((double[])_weights.Clone(), 2),
            ["metrics.train_accumulators"] = Tensor.FromArray((double[])_trainAccumulators.Clone(), 4),
        },
        new Dictionary<string, string>
        {
            ["optim.steps"] = _optimizerSteps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["weighting.epochs_seen"] = _epochsSeen.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

    public void LoadState(ExperimentState state, bool weightsOnly)
    {
        double[] Get(string name, int n)
        {
            if (!state.Tensors.TryGetValue(name, out var t))
                throw new ConfigurationException($"the checkpoint has no tensor '{name}'; expected a checkpoint of model 'tiny'.");
            if (t.Numel != n) throw new ConfigurationException($"tensor '{name}' is {t.Describe()}; expected {n} elements.");
            return t.ToDoubleArray();
        }
        _wSeg = Get("model.seg.weight", Features);
        _wDepth = Get("model.depth.weight", Features);
        if (weightsOnly) return;
        _mSeg = Get("optim.seg.momentum", Features);
        _mDepth = Get("optim.depth.momentum", Features);
        GeneratorState.Restore(_augment, state.Tensors["rng.augment"], "rng.augment");
        _lossHistory = Get("weighting.loss_history", 4);
        _weights = Get("weighting.weights", 2);
        _trainAccumulators = Get("metrics.train_accumulators", 4);
        _optimizerSteps = long.Parse(state.Metadata["optim.steps"], System.Globalization.CultureInfo.InvariantCulture);
        _epochsSeen = int.Parse(state.Metadata["weighting.epochs_seen"], System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Dispose() { }
}
