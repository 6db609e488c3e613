namespace Astmt.Engine.NN;

/// <summary>
/// Base of every layer and network, with PyTorch's <c>nn.Module</c> semantics: named parameters, buffers and child modules in
/// registration order, hierarchical dotted names (<c>encoder_block.0.1.running_mean</c>), train/eval mode, and state dicts whose
/// keys and order are PyTorch's, so checkpoints interchange with PyTorch.
/// </summary>
/// <remarks>
/// State-dict order follows <c>Module._save_to_state_dict</c>: a module's own parameters, then its own persistent buffers, then
/// each child's entries in registration order (depth first). Parameters and buffers are looked up by name on every access, so
/// replacing one (for example by <see cref="To(Device)"/>) is seen by the layer code.
/// </remarks>
public abstract class Module
{
    private readonly OrderedDictionary<string, Tensor?> _parameters = new();
    private readonly OrderedDictionary<string, Tensor?> _buffers = new();
    private readonly HashSet<string> _nonPersistentBuffers = [];
    private readonly OrderedDictionary<string, Module?> _modules = new();

    /// <summary>True in training mode (the default), false in evaluation mode.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>The class name used in messages (PyTorch's <c>_get_name()</c>).</summary>
    public virtual string TypeName => GetType().Name;

    // ------------------------------------------------------------------ registration

    /// <summary>Registers a parameter (or an absent one, <c>null</c>, as PyTorch's <c>register_parameter(name, None)</c>).
    /// The tensor becomes a leaf that requires a gradient unless <paramref name="requiresGrad"/> is false (a frozen parameter).</summary>
    protected Tensor? RegisterParameter(string name, Tensor? parameter, bool requiresGrad = true)
    {
        CheckNewName(name);
        if (parameter != null) Parameter.MakeParameter(parameter, $"{TypeName}.{name}", requiresGrad);
        _parameters[name] = parameter;
        return parameter;
    }

    /// <summary>Registers a buffer: state that is not trained (running statistics, counters). Non-persistent buffers are left
    /// out of the state dict.</summary>
    protected Tensor? RegisterBuffer(string name, Tensor? buffer, bool persistent = true)
    {
        CheckNewName(name);
        _buffers[name] = buffer;
        if (!persistent) _nonPersistentBuffers.Add(name);
        return buffer;
    }

    /// <summary>Registers a child module under <paramref name="name"/> and returns it.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckNewName(name);
        if (ReferenceEquals(module, this)) throw new ArgumentException($"{TypeName}: a module cannot be its own child ('{name}').");
        _modules[name] = module;
        return module;
    }

    /// <summary>The parameter registered as <paramref name="name"/> on this module (null for an absent optional one).</summary>
    protected Tensor? GetParameter(string name) =>
        _parameters.TryGetValue(name, out var p) ? p : throw new KeyNotFoundException($"{TypeName} has no parameter '{name}'.");

    /// <summary>The buffer registered as <paramref name="name"/> on this module.</summary>
    protected Tensor? GetBuffer(string name) =>
        _buffers.TryGetValue(name, out var b) ? b : throw new KeyNotFoundException($"{TypeName} has no buffer '{name}'.");

    /// <summary>The child module registered as <paramref name="name"/>.</summary>
    protected Module GetModule(string name) =>
        _modules.TryGetValue(name, out var m) && m != null ? m : throw new KeyNotFoundException($"{TypeName} has no child module '{name}'.");

    private void CheckNewName(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException($"{TypeName}: a parameter, buffer or module name cannot be empty.");
        if (name.Contains('.')) throw new ArgumentException($"{TypeName}: name '{name}' cannot contain '.', which separates the levels of a state-dict key.");
        if (_parameters.ContainsKey(name) || _buffers.ContainsKey(name) || _modules.ContainsKey(name))
            throw new ArgumentException($"{TypeName}: '{name}' is already registered.");
    }

    // ------------------------------------------------------------------ traversal

    /// <summary>Direct children with their names, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        foreach (var (name, m) in _modules)
            if (m != null && seen.Add(m)) yield return (name, m);
    }

    /// <summary>Direct children in registration order.</summary>
    public IEnumerable<Module> Children() => NamedChildren().Select(c => c.Module);

    /// <summary>This module and every descendant, pre-order, each once, with dotted names (this one is named <paramref name="prefix"/>).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        var result = new List<(string, Module)>();
        CollectModules(prefix, seen, result);
        return result;
    }

    private void CollectModules(string prefix, HashSet<Module> seen, List<(string, Module)> result)
    {
        if (!seen.Add(this)) return;
        result.Add((prefix, this));
        foreach (var (name, m) in _modules)
            m?.CollectModules(Join(prefix, name), seen, result);
    }

    /// <summary>This module and every descendant, pre-order, each once.</summary>
    public IEnumerable<Module> Modules() => NamedModules().Select(m => m.Module);

    /// <summary>Parameters with dotted names, each tensor once, in state-dict order.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(bool recurse = true)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, m) in recurse ? NamedModules() : [("", this)])
            foreach (var (name, p) in m._parameters)
                if (p != null && seen.Add(p)) yield return (Join(prefix, name), p);
    }

    /// <summary>Parameters, each tensor once, in state-dict order (what an optimizer takes).</summary>
    public IEnumerable<Tensor> Parameters(bool recurse = true) => NamedParameters(recurse).Select(p => p.Parameter);

    /// <summary>Buffers with dotted names, each tensor once (persistent and not).</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(bool recurse = true)
    {
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (prefix, m) in recurse ? NamedModules() : [("", this)])
            foreach (var (name, b) in m._buffers)
                if (b != null && seen.Add(b)) yield return (Join(prefix, name), b);
    }

    /// <summary>Buffers, each tensor once.</summary>
    public IEnumerable<Tensor> Buffers(bool recurse = true) => NamedBuffers(recurse).Select(b => b.Buffer);

    /// <summary>Number of scalars in the parameters that require a gradient (each shared tensor once), as the papers count "#P".</summary>
    public long ParameterCount()
    {
        long n = 0;
        foreach (var p in Parameters()) if (p.RequiresGrad) n += p.Numel;
        return n;
    }

    /// <summary>Calls <paramref name="fn"/> on every child (recursively) and then on this module, as PyTorch's <c>apply</c>.</summary>
    public Module Apply(Action<Module> fn)
    {
        foreach (var child in Children()) child.Apply(fn);
        fn(this);
        return this;
    }

    // ------------------------------------------------------------------ modes and gradients

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public Module Train(bool mode = true)
    {
        Training = mode;
        // Straight over the registered children rather than Children(), so the Train() of every step allocates no iterators (a
        // child registered under two names is set twice, which is harmless).
        foreach (var (_, child) in _modules) child?.Train(mode);
        return this;
    }

    /// <summary>Sets evaluation mode (batch norm uses its running statistics).</summary>
    public Module Eval() => Train(false);

    /// <summary>Clears the gradients of every parameter. By default the gradient buffers are zeroed in place and kept for the next
    /// accumulation, so a training loop reuses them (as <see cref="Optim.Optimizer.ZeroGrad"/>); with <paramref name="setToNone"/>
    /// they are dropped (PyTorch 2's default). Gradients built by a create-graph backward belong to the step arena and are dropped.</summary>
    public void ZeroGrad(bool setToNone = false)
    {
        foreach (var p in Parameters())
        {
            var g = p.Grad;
            if (g == null) continue;
            if (setToNone || g.IsReleased || !g.IsLeaf || g.InArena || (g.Device.IsCpu && !g.IsContiguous)) { p.Grad = null; continue; }
            if (g.Device.IsCpu) g.FillInPlace(0.0);
            else Ops.DeviceOps.For(g).Fill(g, 0.0);
        }
    }

    /// <summary>Moves every parameter and buffer to <paramref name="device"/> (new tensors replace the old ones; build optimizers after this).</summary>
    public Module To(Device device)
    {
        foreach (var m in Modules())
        {
            foreach (var name in m._parameters.Keys.ToArray())
                if (m._parameters[name] is { } p && p.Device != device)
                {
                    var moved = p.Detach().To(device);
                    Parameter.MakeParameter(moved, $"{m.TypeName}.{name}", p.RequiresGrad);
                    m._parameters[name] = moved;
                }
            foreach (var name in m._buffers.Keys.ToArray())
                if (m._buffers[name] is { } b && b.Device != device) m._buffers[name] = b.To(device);
        }
        return this;
    }

    /// <summary>Converts every floating parameter and buffer to <paramref name="dtype"/> (PyTorch's <c>.double()</c> / <c>.float()</c>);
    /// integer buffers such as num_batches_tracked keep their type. New tensors replace the old ones; build optimizers after this.</summary>
    public Module To(DType dtype)
    {
        if (!dtype.IsFloating()) throw new ArgumentException($"{TypeName}.To: modules convert to Float32 or Float64, not {dtype}.");
        foreach (var m in Modules())
        {
            foreach (var name in m._parameters.Keys.ToArray())
                if (m._parameters[name] is { } p && p.DType != dtype)
                    m._parameters[name] = Parameter.MakeParameter(p.Device.IsCpu ? p.To(dtype) : p.To(Device.Cpu).To(dtype).To(p.Device), $"{m.TypeName}.{name}", p.RequiresGrad);
            foreach (var name in m._buffers.Keys.ToArray())
                if (m._buffers[name] is { } b && b.DType.IsFloating() && b.DType != dtype)
                    m._buffers[name] = b.Device.IsCpu ? b.To(dtype) : b.To(Device.Cpu).To(dtype).To(b.Device);
        }
        return this;
    }

    // ------------------------------------------------------------------ state dict

    /// <summary>
    /// The module's state as PyTorch names and orders it: own parameters, own persistent buffers, then children in registration
    /// order. Values are the live tensors (no copies); a tensor shared by two modules appears under both names.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var dict = new OrderedDictionary<string, Tensor>();
        SaveToStateDict(dict, "");
        return dict;
    }

    private void SaveToStateDict(OrderedDictionary<string, Tensor> dict, string prefix)
    {
        foreach (var (name, p) in _parameters)
            if (p != null) dict[prefix + name] = p;
        foreach (var (name, b) in _buffers)
            if (b != null && !_nonPersistentBuffers.Contains(name)) dict[prefix + name] = b;
        foreach (var (name, m) in _modules)
            m?.SaveToStateDict(dict, prefix + name + ".");
    }

    /// <summary>
    /// Copies <paramref name="stateDict"/> into this module's parameters and buffers in place (optimizers keep their references).
    /// Floating values of another float dtype are converted, and a [1] tensor fills a 0-d entry (as PyTorch). Every problem is collected and reported at once: with
    /// <paramref name="strict"/>, missing and unexpected keys throw; shape and dtype-kind mismatches always throw, as in PyTorch.
    /// </summary>
    /// <returns>The missing and unexpected keys (both empty after a strict load).</returns>
    public StateDictLoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        var own = StateDict();
        var missing = new List<string>();
        var mismatched = new List<string>();
        foreach (var (key, target) in own)
        {
            if (!stateDict.TryGetValue(key, out var source)) { missing.Add(key); continue; }
            if (!ShapeUtil.Same(source.Shape, target.Shape) && !IsLegacyScalar(source, target))
                mismatched.Add($"size mismatch for {key}: copying a tensor of shape {ShapeUtil.Format(source.Shape)} from the checkpoint, the shape in the current model is {ShapeUtil.Format(target.Shape)}");
            else if (source.DType.IsFloating() != target.DType.IsFloating())
                mismatched.Add($"dtype mismatch for {key}: the checkpoint holds {source.DType}, the current model {target.DType}");
        }
        var unexpected = stateDict.Keys.Where(k => !own.ContainsKey(k)).ToList();

        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
            throw new StateDictMismatchException(TypeName, strict ? missing : [], strict ? unexpected : [], mismatched);

        using (Autograd.Autograd.NoGrad())
        {
            foreach (var (key, target) in own)
            {
                if (!stateDict.TryGetValue(key, out var source)) continue;
                if (IsLegacyScalar(source, target)) source = Ops.F.Reshape(source, []);
                if (source.DType == target.DType) target.CopyFrom(source);
                else
                {
                    var converted = source.Device.IsCpu ? source.To(target.DType) : source.To(Device.Cpu).To(target.DType);
                    target.CopyFrom(converted);
                    if (!ReferenceEquals(converted, source)) converted.Dispose();
                }
            }
        }
        return new StateDictLoadResult(missing, unexpected);
    }

    /// <summary>PyTorch accepts a one-element [1] tensor for a 0-d entry (checkpoints of older versions, and writers that store
    /// scalars as [1], stored num_batches_tracked that way); so do we.</summary>
    private static bool IsLegacyScalar(Tensor source, Tensor target) => target.Rank == 0 && source.Rank == 1 && source.Shape[0] == 1;

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <inheritdoc />
    public override string ToString() => $"{TypeName}({ParameterCount():N0} parameters)";
}

/// <summary>A module with one typed forward function: callers use <see cref="Forward"/> (PyTorch's <c>__call__</c>), subclasses
/// implement <see cref="ForwardCore"/> (PyTorch's <c>forward</c>).</summary>
/// <typeparam name="TInput">What the module takes.</typeparam>
/// <typeparam name="TOutput">What it returns.</typeparam>
public abstract class Module<TInput, TOutput> : Module
{
    /// <summary>
    /// Runs the module. With grad mode off (evaluation, inference) the call is a frame of the <see cref="Autograd.InferenceScope"/>:
    /// the tensors its ops create and its result does not hold go back to the pool when it returns, so a plain no-grad inference
    /// loop needs neither <c>using</c> nor the GC. The result belongs to the caller (<see cref="Tensor.Dispose"/> or the finalizer).
    /// </summary>
    public TOutput Forward(TInput input)
    {
        if (!Autograd.InferenceScope.TryEnter(out var frame)) return ForwardCore(input);
        TOutput output;
        try { output = ForwardCore(input); }
        catch { Autograd.InferenceScope.Abandon(frame); throw; }
        Autograd.InferenceScope.Exit(frame, output);
        return output;
    }

    /// <summary>The module's computation (PyTorch's <c>forward</c>). Call child modules through their <see cref="Forward"/>.</summary>
    protected abstract TOutput ForwardCore(TInput input);
}
