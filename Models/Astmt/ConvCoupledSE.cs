using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Astmt;

/// <summary>
/// The decoder's conv block (spec §1.2, reference <c>ConvCoupledSE</c>): y = process(x) [+ adapt[task](x)] → norm[task] or shared
/// norm → ReLU → [SE[task]]. The adapter is a parallel 1×1 conv without bias summed before the norm (residual adapter, §1.4).
/// Children register as the reference's: process, se, adapt, norm.
/// </summary>
public sealed class ConvCoupledSE : TaskModule
{
    private readonly Sequential _process;
    private readonly SqueezeExcitation? _se;
    private readonly ModuleDict<Conv2d>? _adapt;
    private readonly Module _norm;

    /// <summary>Creates the block around <paramref name="process"/> (whose last layer is the conv).</summary>
    /// <param name="tasks">Task names (for the per-task norm, SE and adapters).</param>
    /// <param name="process">The shared layers: one conv, or a pooling followed by a conv.</param>
    /// <param name="normPerTask">One batch norm per task instead of a shared one.</param>
    /// <param name="squeeze">Adds a per-task SE after the ReLU.</param>
    /// <param name="adapters">Adds a per-task 1×1 adapter from the block's input.</param>
    /// <param name="reduction">The SE reduction r.</param>
    public ConvCoupledSE(IReadOnlyList<string> tasks, Module<Tensor, Tensor>[] process, bool normPerTask, bool squeeze, bool adapters, int reduction = 16)
    {
        if (process.Length == 0 || process[^1] is not Conv2d conv)
            throw new ArgumentException("ConvCoupledSE: the process layers must end with a Conv2d.");
        _process = RegisterModule("process", new Sequential(process));
        Conv = conv;
        if (squeeze) _se = RegisterModule("se", new SqueezeExcitation(conv.OutChannels, reduction, tasks));
        if (adapters)
            _adapt = RegisterModule("adapt", new ModuleDict<Conv2d>(tasks.Select(t => KeyValuePair.Create(t, new Conv2d(conv.InChannels, conv.OutChannels, 1, bias: false)))));
        _norm = RegisterModule("norm", TaskNorm.Create(conv.OutChannels, normPerTask ? tasks : null));
    }

    /// <summary>The shared conv.</summary>
    public Conv2d Conv { get; }

    /// <summary>The per-task SE, or null.</summary>
    public SqueezeExcitation? Squeeze => _se;

    /// <summary>The per-task adapters, or null.</summary>
    public ModuleDict<Conv2d>? Adapters => _adapt;

    /// <summary>The norm: a <see cref="BatchNorm2d"/> or a per-task dictionary of them.</summary>
    public Module Norm => _norm;

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor x, string task)
    {
        var y = _process.Forward(x);
        if (_adapt != null) y = F.Add(y, _adapt[task].Forward(x));
        y = TaskNorm.ApplyRelu(_norm, y, task);
        return _se == null ? y : _se.Forward(y, task);
    }

    /// <inheritdoc />
    public override string TypeName => "ConvCoupledSE";
}
