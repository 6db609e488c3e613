namespace Astmt.Engine.Optim;

/// <summary>
/// Base of the learning-rate schedules (PyTorch's closed forms). Creating one records each group's initial learning rate (kept if
/// already set, as PyTorch's <c>initial_lr</c>) and applies epoch 0; each <see cref="Step"/> advances one epoch (or iteration)
/// and writes the scheduled rate into every group.
/// </summary>
public abstract class LrScheduler
{
    private readonly double[] _baseLearningRates;

    /// <summary>Attaches to <paramref name="optimizer"/> and sets epoch 0's learning rates.</summary>
    protected LrScheduler(Optimizer optimizer)
    {
        Optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _baseLearningRates = new double[optimizer.ParamGroups.Count];
        for (int g = 0; g < _baseLearningRates.Length; g++)
        {
            var group = optimizer.ParamGroups[g];
            group.InitialLearningRate ??= group.LearningRate;
            _baseLearningRates[g] = group.InitialLearningRate.Value;
        }
    }

    /// <summary>The optimizer whose groups this schedule drives.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Epochs (or iterations) completed: the rates in force are those of this epoch.</summary>
    public int LastEpoch { get; private set; }

    /// <summary>Each group's initial learning rate, which the schedule scales.</summary>
    public IReadOnlyList<double> BaseLearningRates => _baseLearningRates;

    /// <summary>The schedule: the learning rate at <paramref name="epoch"/> for a group whose initial rate is <paramref name="baseLearningRate"/>.</summary>
    public abstract double LearningRateAt(double baseLearningRate, int epoch);

    /// <summary>Advances one epoch and applies its learning rates.</summary>
    public void Step() => SetEpoch(LastEpoch + 1);

    /// <summary>Jumps to <paramref name="epoch"/> (for example when resuming) and applies its learning rates.</summary>
    public void SetEpoch(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), $"{GetType().Name}: epoch must be >= 0, got {epoch}.");
        LastEpoch = epoch;
        for (int g = 0; g < _baseLearningRates.Length; g++)
            Optimizer.ParamGroups[g].LearningRate = LearningRateAt(_baseLearningRates[g], epoch);
    }

    /// <summary>The schedule's position as a tensor dict: <c>{prefix}last_epoch</c> (Int64 scalar) and <c>{prefix}base_lrs</c> (Float64).</summary>
    public Dictionary<string, Tensor> StateDict(string prefix = "scheduler.") => new()
    {
        [$"{prefix}last_epoch"] = Tensor.FromArray([(long)LastEpoch], []),
        [$"{prefix}base_lrs"] = Tensor.FromArray((double[])_baseLearningRates.Clone(), _baseLearningRates.Length),
    };

    /// <summary>Restores a <see cref="StateDict"/> and applies the restored epoch's learning rates.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string prefix = "scheduler.")
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var problems = new List<string>();
        if (!stateDict.TryGetValue($"{prefix}last_epoch", out var epoch)) problems.Add($"missing '{prefix}last_epoch'");
        else if (epoch.Numel != 1 || epoch.Item() < 0) problems.Add($"'{prefix}last_epoch' is {epoch.Describe()}; expected a non-negative scalar");
        if (!stateDict.TryGetValue($"{prefix}base_lrs", out var bases)) problems.Add($"missing '{prefix}base_lrs'");
        else if (bases.Numel != _baseLearningRates.Length)
            problems.Add($"'{prefix}base_lrs' has {bases.Numel} values; the optimizer has {_baseLearningRates.Length} parameter groups");
        if (problems.Count > 0)
            throw new InvalidDataException($"{GetType().Name}.LoadStateDict: {string.Join("; ", problems)}.");
        var values = bases!.ToDoubleArray();
        for (int g = 0; g < values.Length; g++)
        {
            _baseLearningRates[g] = values[g];
            Optimizer.ParamGroups[g].InitialLearningRate = values[g];
        }
        SetEpoch((int)epoch!.Item());
    }
}
