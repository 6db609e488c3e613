using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Astmt;

/// <summary>
/// The encoder's SE-ResNet bottleneck (spec §1.1), Caffe-style: the stride sits on the first 1×1 conv.
/// conv1 1×1/s → bn1[task] → ReLU → conv2 3×3 dilation d (+ adapt[task] 1×1 before the norm) → bn2[task] → ReLU → conv3 1×1 →
/// bn3[task] → SE → + shortcut → ReLU. Children register as the reference's: conv1, conv2, conv3, adapt, bn1, bn2, bn3, se, downsample.
/// </summary>
public sealed class SEBottleneck : TaskModule
{
    /// <summary>Channel expansion of the last 1×1 conv.</summary>
    public const int Expansion = 4;

    private readonly Conv2d _conv1, _conv2, _conv3;
    private readonly ModuleDict<Conv2d>? _adapt;
    private readonly Module _bn1, _bn2, _bn3;
    private readonly SqueezeExcitation _se;
    private readonly Downsample? _downsample;

    /// <summary>Creates the block.</summary>
    /// <param name="tasks">Task names.</param>
    /// <param name="inPlanes">Input channels.</param>
    /// <param name="planes">Bottleneck width (output is 4× this).</param>
    /// <param name="stride">Stride of conv1 (and of the shortcut).</param>
    /// <param name="dilation">Dilation (and padding) of conv2.</param>
    /// <param name="downsample">The projection shortcut, or null for the identity.</param>
    /// <param name="taskNorm">One batch norm per task (the reference with trained norms) instead of shared ones.</param>
    /// <param name="taskSqueeze">A per-task SE instead of a shared one.</param>
    /// <param name="adapters">Per-task residual adapters parallel to conv2.</param>
    public SEBottleneck(IReadOnlyList<string> tasks, int inPlanes, int planes, int stride, int dilation, Downsample? downsample,
        bool taskNorm, bool taskSqueeze, bool adapters)
    {
        _conv1 = RegisterModule("conv1", new Conv2d(inPlanes, planes, 1, stride, bias: false));
        _conv2 = RegisterModule("conv2", new Conv2d(planes, planes, 3, 1, dilation, dilation, bias: false));
        _conv3 = RegisterModule("conv3", new Conv2d(planes, planes * Expansion, 1, bias: false));
        if (adapters)
            _adapt = RegisterModule("adapt", new ModuleDict<Conv2d>(tasks.Select(t => KeyValuePair.Create(t, new Conv2d(planes, planes, 1, bias: false)))));
        var normTasks = taskNorm ? tasks : null;
        _bn1 = RegisterModule("bn1", TaskNorm.Create(planes, normTasks));
        _bn2 = RegisterModule("bn2", TaskNorm.Create(planes, normTasks));
        _bn3 = RegisterModule("bn3", TaskNorm.Create(planes * Expansion, normTasks));
        _se = RegisterModule("se", new SqueezeExcitation(planes * Expansion, 16, taskSqueeze ? tasks : null));
        if (downsample != null) _downsample = RegisterModule("downsample", downsample);
    }

    /// <summary>True when a stage's first block needs a projection shortcut: its stride, a channel change, or dilation 2 or 4 (the
    /// reference's condition, which also projects the first block of a dilated stage).</summary>
    public static bool NeedsProjection(int inPlanes, int planes, int stride, int dilation) =>
        stride != 1 || inPlanes != planes * Expansion || dilation is 2 or 4;

    /// <summary>The 3×3 conv (its dilation is the stage's).</summary>
    public Conv2d Conv2 => _conv2;

    /// <summary>The first 1×1 conv (it carries the stride).</summary>
    public Conv2d Conv1 => _conv1;

    /// <summary>The block's SE (per task or shared).</summary>
    public SqueezeExcitation Squeeze => _se;

    /// <summary>The adapters, or null.</summary>
    public ModuleDict<Conv2d>? Adapters => _adapt;

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor x, string task)
    {
        var out1 = TaskNorm.ApplyRelu(_bn1, _conv1.Forward(x), task);
        var y = _conv2.Forward(out1);
        if (_adapt != null) y = F.Add(_adapt[task].Forward(out1), y);
        var out2 = TaskNorm.ApplyRelu(_bn2, y, task);
        var out3 = _se.Forward(TaskNorm.Apply(_bn3, _conv3.Forward(out2), task), task);
        var residual = _downsample == null ? x : _downsample.Forward(x, task);
        return F.Relu(F.Add(out3, residual));
    }

    /// <inheritdoc />
    public override string TypeName => "SEBottleneck";
}
