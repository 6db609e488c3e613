using Astmt.Engine.Ops;

namespace Astmt.Engine.Optim;

/// <summary>
/// Adam exactly as PyTorch 1.13's <c>torch.optim.Adam</c> (amsgrad off): g = grad + wd·p (L2 weight decay, not AdamW);
/// m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²; p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps).
/// One fused pass over parameter, gradient and both moments.
/// </summary>
public sealed class Adam : Optimizer
{
    private double _beta1, _beta2, _eps;

    /// <summary>Adam over one group of parameters.</summary>
    public Adam(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0)
        : this([new ParamGroup(parameters)], learningRate, beta1, beta2, eps, weightDecay)
    {
    }

    /// <summary>Adam over parameter groups; groups without their own learning rate or weight decay take these.</summary>
    public Adam(IEnumerable<ParamGroup> groups, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weightDecay = 0)
        : base("Adam", groups, learningRate, weightDecay, ["exp_avg", "exp_avg_sq"])
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
    }

    /// <summary>Decay of the first moment, in [0, 1).</summary>
    public double Beta1
    {
        get => _beta1;
        set => _beta1 = value is >= 0 and < 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"Adam: beta1 must be in [0, 1), got {value}.");
    }

    /// <summary>Decay of the second moment, in [0, 1).</summary>
    public double Beta2
    {
        get => _beta2;
        set => _beta2 = value is >= 0 and < 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"Adam: beta2 must be in [0, 1), got {value}.");
    }

    /// <summary>Added to the denominator for numerical stability.</summary>
    public double Eps
    {
        get => _eps;
        set => _eps = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"Adam: eps must be >= 0, got {value}.");
    }

    /// <inheritdoc />
    protected override bool SavesStepCount => true;

    /// <inheritdoc />
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParameterState state)
    {
        var expAvg = state.Buffers[0] ??= NewBuffer(param);
        var expAvgSq = state.Buffers[1] ??= NewBuffer(param);
        double step = state.Step;
        // Bias corrections in float64, as PyTorch computes them in Python floats.
        double biasCorrection1 = 1 - Math.Pow(_beta1, step);
        double biasCorrection2 = 1 - Math.Pow(_beta2, step);
        if (!param.Device.IsCpu)
        {
            DeviceOps.For(param).AdamStep(param, grad, expAvg, expAvgSq, group.LearningRate, _beta1, _beta2, _eps, group.WeightDecay,
                biasCorrection1, biasCorrection2);
            return;
        }
        FusedUpdates.Adam(param, grad, expAvg, expAvgSq, new FusedUpdates.AdamScalars(
            StepSize: group.LearningRate / biasCorrection1, _beta1, _beta2, _eps, group.WeightDecay, Math.Sqrt(biasCorrection2)));
    }

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, double>> Hyperparameters =>
    [
        new("beta1", _beta1),
        new("beta2", _beta2),
        new("eps", _eps),
    ];

    /// <inheritdoc />
    protected override void SetHyperparameter(string name, double value)
    {
        switch (name)
        {
            case "beta1": Beta1 = value; break;
            case "beta2": Beta2 = value; break;
            case "eps": Eps = value; break;
            default: throw new ArgumentException($"Adam: no hyperparameter '{name}'.");
        }
    }
}
