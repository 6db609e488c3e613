namespace Astmt.Engine.Optim;

/// <summary>
/// A set of parameters that share a learning rate and weight decay (PyTorch's param group). Hyperparameters left null take the
/// optimizer's defaults when the group is handed to it.
/// </summary>
public sealed class ParamGroup
{
    private readonly double? _requestedLearningRate;
    private readonly double? _requestedWeightDecay;

    /// <summary>The parameters, in order.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>A name per parameter for messages and checkpoints (the given name, else <see cref="Tensor.Name"/>, else its index).</summary>
    public IReadOnlyList<string> ParameterNames { get; }

    /// <summary>Optional group name, for messages (for example "encoder" or "discriminator").</summary>
    public string? Name { get; }

    /// <summary>Learning rate the next <see cref="Optimizer.Step"/> uses; schedulers write it.</summary>
    public double LearningRate { get; set; }

    /// <summary>L2 penalty added to the gradient (PyTorch's weight_decay).</summary>
    public double WeightDecay { get; set; }

    /// <summary>The learning rate schedulers decay from (PyTorch's <c>initial_lr</c>); set by the first scheduler attached.</summary>
    public double? InitialLearningRate { get; set; }

    /// <summary>The optimizer that owns this group, once handed to one.</summary>
    internal Optimizer? Owner { get; set; }

    /// <summary>A group of unnamed parameters.</summary>
    public ParamGroup(IEnumerable<Tensor> parameters, double? learningRate = null, double? weightDecay = null, string? name = null)
        : this(Named(parameters), learningRate, weightDecay, name)
    {
    }

    /// <summary>A group of named parameters as <c>Module.NamedParameters()</c> yields them.</summary>
    public ParamGroup(IEnumerable<(string Name, Tensor Parameter)> namedParameters, double? learningRate = null, double? weightDecay = null,
        string? name = null)
        : this(namedParameters.Select(x => new KeyValuePair<string, Tensor>(x.Name, x.Parameter)), learningRate, weightDecay, name)
    {
    }

    /// <summary>A group of named parameters.</summary>
    public ParamGroup(IEnumerable<KeyValuePair<string, Tensor>> namedParameters, double? learningRate = null, double? weightDecay = null,
        string? name = null)
    {
        ArgumentNullException.ThrowIfNull(namedParameters);
        var parameters = new List<Tensor>();
        var names = new List<string>();
        foreach (var (n, p) in namedParameters)
        {
            parameters.Add(p ?? throw new ArgumentException($"ParamGroup{(name != null ? $" '{name}'" : "")}: parameter '{n}' is null."));
            names.Add(n);
        }
        Parameters = parameters;
        ParameterNames = names;
        Name = name;
        _requestedLearningRate = learningRate;
        _requestedWeightDecay = weightDecay;
    }

    /// <summary>Fills hyperparameters the caller left open with the optimizer's defaults.</summary>
    internal void Bind(Optimizer owner, double defaultLearningRate, double defaultWeightDecay)
    {
        if (Owner != null && !ReferenceEquals(Owner, owner))
            throw new ArgumentException($"Param group{Describe()} already belongs to another optimizer; create a new ParamGroup per optimizer.");
        Owner = owner;
        LearningRate = _requestedLearningRate ?? defaultLearningRate;
        WeightDecay = _requestedWeightDecay ?? defaultWeightDecay;
        if (!(LearningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), $"Param group{Describe()}: learning rate must be >= 0, got {LearningRate}.");
        if (!(WeightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(WeightDecay), $"Param group{Describe()}: weight decay must be >= 0, got {WeightDecay}.");
    }

    /// <summary>" 'name'" or empty, for messages.</summary>
    internal string Describe() => Name != null ? $" '{Name}'" : "";

    private static IEnumerable<KeyValuePair<string, Tensor>> Named(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        int i = 0;
        foreach (var p in parameters)
        {
            yield return new KeyValuePair<string, Tensor>(p?.Name ?? $"param {i}", p!);
            i++;
        }
    }
}
