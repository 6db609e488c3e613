using Astmt.Engine.Ops;

namespace Astmt.Engine.Optim;

/// <summary>
/// Stochastic gradient descent with momentum, dampening, weight decay and Nesterov momentum, exactly as PyTorch 1.13's
/// <c>torch.optim.SGD</c>: d = g + wd·p; buf = d on the first step, else momentum·buf + (1 − dampening)·d; d = d + momentum·buf
/// (Nesterov) or buf; p ← p − lr·d. One fused pass over parameter, gradient and momentum buffer.
/// </summary>
public sealed class Sgd : Optimizer
{
    private const string MomentumBuffer = "momentum_buffer";
    private double _momentum;
    private double _dampening;
    private bool _nesterov;

    /// <summary>SGD over one group of parameters.</summary>
    public Sgd(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false)
        : this([new ParamGroup(parameters)], learningRate, momentum, dampening, weightDecay, nesterov)
    {
    }

    /// <summary>SGD over parameter groups; groups without their own learning rate or weight decay take these.</summary>
    public Sgd(IEnumerable<ParamGroup> groups, double learningRate, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false)
        : base("SGD", groups, learningRate, weightDecay, [MomentumBuffer])
    {
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
    }

    /// <summary>Momentum factor (0 disables the buffer).</summary>
    public double Momentum
    {
        get => _momentum;
        set
        {
            if (!(value >= 0)) throw new ArgumentOutOfRangeException(nameof(value), $"SGD: momentum must be >= 0, got {value}.");
            _momentum = value;
            CheckNesterov();
        }
    }

    /// <summary>Dampening of the gradient's contribution to the momentum buffer.</summary>
    public double Dampening
    {
        get => _dampening;
        set
        {
            if (!(value >= 0 && value <= 1)) throw new ArgumentOutOfRangeException(nameof(value), $"SGD: dampening must be in [0, 1], got {value}.");
            _dampening = value;
            CheckNesterov();
        }
    }

    /// <summary>Nesterov momentum (needs momentum &gt; 0 and zero dampening, as in PyTorch).</summary>
    public bool Nesterov
    {
        get => _nesterov;
        set
        {
            _nesterov = value;
            CheckNesterov();
        }
    }

    private void CheckNesterov()
    {
        // Construction sets the properties one by one; the final combination is checked once all are set.
        if (_nesterov && (_momentum <= 0 || _dampening != 0))
            throw new ArgumentException($"SGD: Nesterov momentum requires momentum > 0 and dampening 0, got momentum {_momentum} and dampening {_dampening}.");
    }

    /// <inheritdoc />
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParameterState state)
    {
        Tensor? buffer = null;
        bool first = false;
        if (_momentum != 0)
        {
            buffer = state.Buffers[0];
            first = buffer == null;
            buffer ??= state.Buffers[0] = NewBuffer(param);
        }
        if (!param.Device.IsCpu)
        {
            DeviceOps.For(param).SgdStep(param, grad, buffer, group.LearningRate, _momentum, _dampening, group.WeightDecay, _nesterov, first);
            return;
        }
        FusedUpdates.Sgd(param, grad, buffer,
            new FusedUpdates.SgdScalars(group.LearningRate, group.WeightDecay, _momentum, _dampening, _nesterov, first));
    }

    /// <inheritdoc />
    protected override IEnumerable<KeyValuePair<string, double>> Hyperparameters =>
    [
        new("momentum", _momentum),
        new("dampening", _dampening),
        new("nesterov", _nesterov ? 1 : 0),
    ];

    /// <inheritdoc />
    protected override void SetHyperparameter(string name, double value)
    {
        switch (name)
        {
            case "momentum": _momentum = value; break;
            case "dampening": _dampening = value; break;
            case "nesterov": _nesterov = value != 0; break;
            default: throw new ArgumentException($"SGD: no hyperparameter '{name}'.");
        }
    }
}
