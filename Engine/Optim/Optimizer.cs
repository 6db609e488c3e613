using Astmt.Engine.Ops;

namespace Astmt.Engine.Optim;

/// <summary>
/// Base of the optimizers: parameter groups over leaf tensors, <see cref="ZeroGrad"/>, <see cref="Step"/>, and state dicts for
/// checkpoints. Parameters are indexed in group order (PyTorch's packing); per-parameter state is created lazily on the first step
/// that sees a gradient, and parameters whose gradient is null are skipped entirely (no decay, no momentum, no step count).
/// </summary>
public abstract class Optimizer
{
    private readonly List<ParamGroup> _groups;
    private readonly ParameterState[] _states;
    private readonly (ParamGroup Group, Tensor Param, string Name)[] _params;
    private readonly string[] _bufferNames;
    private readonly Tensor?[] _pendingGrads;

    /// <summary>Per-parameter optimizer state: the step count and the named buffers (null until first used).</summary>
    protected sealed class ParameterState
    {
        /// <summary>Steps taken with a gradient.</summary>
        public long Step { get; set; }

        /// <summary>Buffers by index into <see cref="Optimizer.BufferNames"/>; each shaped and typed like the parameter.</summary>
        public Tensor?[] Buffers { get; }

        internal ParameterState(int buffers) => Buffers = new Tensor?[buffers];

        /// <summary>Drops every buffer and the step count.</summary>
        internal void Reset()
        {
            for (int i = 0; i < Buffers.Length; i++) { Buffers[i]?.Dispose(); Buffers[i] = null; }
            Step = 0;
        }
    }

    /// <summary>Checks and binds the groups. <paramref name="bufferNames"/> are the state buffers (PyTorch's names, e.g. exp_avg).</summary>
    protected Optimizer(string name, IEnumerable<ParamGroup> groups, double learningRate, double weightDecay, string[] bufferNames)
    {
        ArgumentNullException.ThrowIfNull(groups);
        OptimizerName = name;
        _bufferNames = bufferNames;
        _groups = groups.ToList();
        if (_groups.Count == 0) throw new ArgumentException($"{name}: got no parameter groups; expected at least one with parameters.");
        var seen = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        var all = new List<(ParamGroup, Tensor, string)>();
        for (int g = 0; g < _groups.Count; g++)
        {
            var group = _groups[g] ?? throw new ArgumentException($"{name}: parameter group {g} is null.");
            group.Bind(this, learningRate, weightDecay);
            for (int i = 0; i < group.Parameters.Count; i++)
            {
                var p = group.Parameters[i];
                var pname = group.ParameterNames[i];
                CheckParameter(name, p, pname);
                if (seen.TryGetValue(p, out var other))
                    throw new ArgumentException($"{name}: parameter '{pname}' appears twice (also as '{other}'); each parameter may be in one group only.");
                seen.Add(p, pname);
                all.Add((group, p, pname));
            }
        }
        if (all.Count == 0) throw new ArgumentException($"{name}: got an empty parameter list.");
        _params = all.ToArray();
        _states = new ParameterState[_params.Length];
        for (int i = 0; i < _states.Length; i++) _states[i] = new ParameterState(bufferNames.Length);
        _pendingGrads = new Tensor?[_params.Length];
    }

    private static void CheckParameter(string optimizer, Tensor p, string name)
    {
        if (!p.IsLeaf) throw new ArgumentException($"{optimizer}: parameter '{name}' {p.Describe()} was produced by '{p.GradFn!.OpName}'; optimizers update leaf tensors only.");
        if (!p.RequiresGrad) throw new ArgumentException($"{optimizer}: parameter '{name}' {p.Describe()} does not require a gradient; set RequiresGrad = true or leave it out.");
        if (!p.DType.IsFloating()) throw new ArgumentException($"{optimizer}: parameter '{name}' is {p.DType}; expected Float32 or Float64.");
        if (!p.IsContiguous) throw new ArgumentException($"{optimizer}: parameter '{name}' {p.Describe()} is a strided view; expected a contiguous tensor.");
    }

    /// <summary>The optimizer's name in messages ("SGD", "Adam").</summary>
    public string OptimizerName { get; }

    /// <summary>The parameter groups, in order.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>Number of parameters over all groups.</summary>
    public int ParameterCount => _params.Length;

    /// <summary>Names of the per-parameter state buffers, as in PyTorch's state dict.</summary>
    public IReadOnlyList<string> BufferNames => _bufferNames;

    /// <summary>Steps taken by parameter <paramref name="index"/> (group order).</summary>
    public long StepCount(int index) => _states[CheckIndex(index)].Step;

    /// <summary>State buffer <paramref name="buffer"/> of parameter <paramref name="index"/>, or null before it exists.</summary>
    public Tensor? State(int index, string buffer)
    {
        int b = Array.IndexOf(_bufferNames, buffer);
        if (b < 0) throw new ArgumentException($"{OptimizerName}: no state buffer '{buffer}'; expected one of {string.Join(", ", _bufferNames)}.");
        return _states[CheckIndex(index)].Buffers[b];
    }

    private int CheckIndex(int index) => (uint)index < (uint)_params.Length ? index
        : throw new ArgumentOutOfRangeException(nameof(index), $"{OptimizerName}: parameter index {index} out of range; there are {_params.Length}.");

    /// <summary>Clears every parameter's gradient: zero-filled in place (keeping the buffer, PyTorch 1.13's default), or dropped
    /// when <paramref name="setToNone"/>. Gradients built with create-graph belong to the step's graph and are always dropped.</summary>
    public void ZeroGrad(bool setToNone = false)
    {
        foreach (var (_, p, _) in _params)
        {
            var g = p.Grad;
            if (g == null) continue;
            if (setToNone || g.IsReleased || !g.IsLeaf || g.InArena) { p.Grad = null; continue; }
            if (g.Device.IsCpu && g.IsContiguous) g.FillInPlace(0);
            else if (!g.Device.IsCpu) DeviceOps.For(g).Fill(g, 0);
            else p.Grad = null;
        }
    }

    /// <summary>Updates every parameter that has a gradient. All gradients are checked before any parameter changes.</summary>
    public void Step()
    {
        var grads = _pendingGrads;
        Array.Clear(grads);
        for (int i = 0; i < _params.Length; i++)
        {
            var (_, p, name) = _params[i];
            var g = p.Grad;
            if (g == null) continue;
            if (g.IsReleased) throw new InvalidOperationException($"{OptimizerName}.Step: the gradient of '{name}' was released; call ZeroGrad() or Backward() again.");
            if (!ShapeUtil.Same(g.Shape, p.Shape) || g.DType != p.DType || g.Device != p.Device)
                throw new InvalidOperationException($"{OptimizerName}.Step: the gradient of '{name}' is {g.Describe()}; expected {p.Describe()} like the parameter.");
            if (!p.Device.IsCpu && p.DType != DType.Float32)
                throw new NotSupportedException($"{OptimizerName}.Step: parameter '{name}' is {p.Describe()}; device updates run on float32 parameters only.");
            if (p.IsReleased) throw new ObjectDisposedException(nameof(Tensor), $"{OptimizerName}.Step: parameter '{name}' was released.");
            grads[i] = g;
        }
        for (int i = 0; i < _params.Length; i++)
        {
            var g = grads[i];
            if (g == null) continue;
            var (group, p, _) = _params[i];
            var dense = g.IsContiguous ? g : g.Detach();
            var state = _states[i];
            state.Step++;
            Update(group, p, dense, state);
            if (!ReferenceEquals(dense, g)) dense.Dispose();
        }
        Array.Clear(grads);
    }

    /// <summary>Applies one update to <paramref name="param"/> given its contiguous <paramref name="grad"/>; <paramref name="state"/>'s
    /// step count already includes this step.</summary>
    protected abstract void Update(ParamGroup group, Tensor param, Tensor grad, ParameterState state);

    /// <summary>A zero-filled buffer shaped and typed like <paramref name="param"/>, on its device (state stays where the update runs).</summary>
    /// <remarks>Made with <see cref="Tensor.NewPersistent"/>: state created during the first step must not take the pool's arrays
    /// that the next step's temporaries need again.</remarks>
    protected static Tensor NewBuffer(Tensor param) => Tensor.NewPersistent(param.Shape, param.DType, param.Device, clear: true);

    // ------------------------------------------------------------------ state dict

    /// <summary>The optimizer-wide hyperparameters by name (for example beta1), saved with the state.</summary>
    protected abstract IEnumerable<KeyValuePair<string, double>> Hyperparameters { get; }

    /// <summary>Restores hyperparameter <paramref name="name"/> from a checkpoint.</summary>
    protected abstract void SetHyperparameter(string name, double value);

    /// <summary>Whether the step count is part of the saved state (Adam's bias correction needs it; SGD's does not).</summary>
    protected virtual bool SavesStepCount => false;

    /// <summary>
    /// The optimizer's state as tensors keyed under <paramref name="prefix"/>: <c>state.{i}.{buffer}</c> (and <c>state.{i}.step</c>,
    /// Int64), <c>param_groups.{g}.{lr,weight_decay,initial_lr}</c> (Float64 scalars) and <c>param_groups.{g}.params</c> (Int64
    /// indices), and <c>hyper.{name}</c>. Buffers are host copies (also of device state), so the dict can be saved while training continues.
    /// </summary>
    public Dictionary<string, Tensor> StateDict(string prefix = "optimizer.")
    {
        var dict = new Dictionary<string, Tensor>();
        int index = 0;
        for (int g = 0; g < _groups.Count; g++)
        {
            var group = _groups[g];
            var ids = new long[group.Parameters.Count];
            for (int i = 0; i < ids.Length; i++) ids[i] = index++;
            dict[$"{prefix}param_groups.{g}.params"] = Tensor.FromArray(ids, ids.Length);
            dict[$"{prefix}param_groups.{g}.lr"] = Tensor.Scalar(group.LearningRate, DType.Float64);
            dict[$"{prefix}param_groups.{g}.weight_decay"] = Tensor.Scalar(group.WeightDecay, DType.Float64);
            if (group.InitialLearningRate is { } initial) dict[$"{prefix}param_groups.{g}.initial_lr"] = Tensor.Scalar(initial, DType.Float64);
        }
        foreach (var (name, value) in Hyperparameters) dict[$"{prefix}hyper.{name}"] = Tensor.Scalar(value, DType.Float64);
        for (int i = 0; i < _states.Length; i++)
        {
            var s = _states[i];
            for (int b = 0; b < _bufferNames.Length; b++)
                if (s.Buffers[b] is { } buffer) dict[$"{prefix}state.{i}.{_bufferNames[b]}"] = buffer.Device.IsCpu ? buffer.Detach() : buffer.To(Device.Cpu);
            if (SavesStepCount && s.Step > 0) dict[$"{prefix}state.{i}.step"] = Tensor.FromArray([s.Step], []);
        }
        return dict;
    }

    /// <summary>
    /// Restores a <see cref="StateDict"/>. Everything is checked first — group count and sizes, hyperparameters, buffer shapes
    /// and dtypes against the parameters, unexpected keys — and every mismatch is reported in one exception; nothing changes unless
    /// all checks pass. As in PyTorch, the saved learning rates and hyperparameters replace the current ones.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string prefix = "optimizer.")
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var problems = new List<string>();
        var used = new HashSet<string>();

        double? Scalar(string key, bool required)
        {
            if (!stateDict.TryGetValue(key, out var t)) { if (required) problems.Add($"missing '{key}'"); return null; }
            used.Add(key);
            if (t.Numel != 1) { problems.Add($"'{key}' is {t.Describe()}; expected a scalar"); return null; }
            return t.Item();
        }

        // Groups: count and the parameter indices each holds.
        int savedGroups = 0;
        while (stateDict.ContainsKey($"{prefix}param_groups.{savedGroups}.params")) savedGroups++;
        if (savedGroups != _groups.Count)
            problems.Add($"the state dict has {savedGroups} parameter groups under '{prefix}param_groups.'; this optimizer has {_groups.Count}");
        var groupValues = new (double? Lr, double? Wd, double? Initial)[_groups.Count];
        int index = 0;
        for (int g = 0; g < _groups.Count; g++)
        {
            int count = _groups[g].Parameters.Count;
            var key = $"{prefix}param_groups.{g}.params";
            if (stateDict.TryGetValue(key, out var ids))
            {
                used.Add(key);
                var expected = Enumerable.Range(index, count).Select(i => (long)i).ToArray();
                if (ids.DType != DType.Int64 || ids.Rank != 1 || !ids.ToArray<long>().SequenceEqual(expected))
                    problems.Add($"group {g}{_groups[g].Describe()}: '{key}' is {ids.Describe()}{(ids.DType == DType.Int64 && ids.Rank == 1 ? $" = [{Abbreviate(ids.ToArray<long>())}]" : "")}; expected the {count} indices [{Abbreviate(expected)}]");
            }
            groupValues[g] = (Scalar($"{prefix}param_groups.{g}.lr", true), Scalar($"{prefix}param_groups.{g}.weight_decay", true),
                Scalar($"{prefix}param_groups.{g}.initial_lr", false));
            index += count;
        }
        for (int g = _groups.Count; g < savedGroups; g++)
            foreach (var k in stateDict.Keys.Where(k => k.StartsWith($"{prefix}param_groups.{g}.", StringComparison.Ordinal))) used.Add(k);

        var hyper = new List<KeyValuePair<string, double>>();
        foreach (var (name, _) in Hyperparameters)
        {
            var key = $"{prefix}hyper.{name}";
            if (!stateDict.ContainsKey(key)) { problems.Add($"missing '{key}' (was this state dict written by another optimizer than {OptimizerName}?)"); continue; }
            if (Scalar(key, true) is { } value) hyper.Add(new(name, value));
        }

        // Per-parameter buffers and step counts.
        var buffers = new Tensor?[_params.Length, _bufferNames.Length];
        var steps = new long[_params.Length];
        for (int i = 0; i < _params.Length; i++)
        {
            var (_, p, name) = _params[i];
            for (int b = 0; b < _bufferNames.Length; b++)
            {
                var key = $"{prefix}state.{i}.{_bufferNames[b]}";
                if (!stateDict.TryGetValue(key, out var t)) continue;
                used.Add(key);
                if (!ShapeUtil.Same(t.Shape, p.Shape) || t.DType != p.DType)
                    problems.Add($"'{key}' is {t.Describe()}; parameter {i} '{name}' is {p.Describe()}");
                else buffers[i, b] = t;
            }
            var stepKey = $"{prefix}state.{i}.step";
            if (stateDict.TryGetValue(stepKey, out var st))
            {
                used.Add(stepKey);
                if (st.Numel != 1 || st.Item() < 0 || st.Item() != Math.Floor(st.Item()))
                    problems.Add($"'{stepKey}' is {st.Describe()}; expected a non-negative integer scalar");
                else steps[i] = (long)st.Item();
            }
            if (SavesStepCount && steps[i] > 0)
                for (int b = 0; b < _bufferNames.Length; b++)
                    if (buffers[i, b] == null && !stateDict.ContainsKey($"{prefix}state.{i}.{_bufferNames[b]}"))
                        problems.Add($"parameter {i} '{name}' has step {steps[i]} but no '{prefix}state.{i}.{_bufferNames[b]}'");
        }
        foreach (var key in stateDict.Keys)
            if (key.StartsWith(prefix, StringComparison.Ordinal) && !used.Contains(key))
                problems.Add($"unexpected key '{key}'");

        if (problems.Count > 0)
            throw new InvalidDataException($"{OptimizerName}.LoadStateDict: the state dict does not fit this optimizer ({problems.Count} problem{(problems.Count > 1 ? "s" : "")}):\n  - " +
                string.Join("\n  - ", problems));

        for (int g = 0; g < _groups.Count; g++)
        {
            _groups[g].LearningRate = groupValues[g].Lr!.Value;
            _groups[g].WeightDecay = groupValues[g].Wd!.Value;
            if (groupValues[g].Initial is { } initial) _groups[g].InitialLearningRate = initial;
        }
        foreach (var (name, value) in hyper) SetHyperparameter(name, value);
        for (int i = 0; i < _params.Length; i++)
        {
            var s = _states[i];
            s.Reset();
            s.Step = steps[i];
            for (int b = 0; b < _bufferNames.Length; b++)
                if (buffers[i, b] is { } t) s.Buffers[b] = t.Device == _params[i].Param.Device ? t.Detach() : t.To(_params[i].Param.Device);
        }
    }

    private static string Abbreviate(long[] values) =>
        values.Length <= 8 ? string.Join(", ", values) : $"{string.Join(", ", values.Take(4))}, ..., {values[^1]}";
}
