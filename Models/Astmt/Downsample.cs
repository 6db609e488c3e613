using Astmt.Engine;
using Astmt.Engine.NN;

namespace Astmt.Models.Astmt;

/// <summary>The bottleneck's projection shortcut: 1×1 conv (stride s, no bias) → norm[task] (keys <c>downsample.process.weight</c>,
/// <c>downsample.norm.&lt;task&gt;.weight</c>, or <c>downsample.norm.weight</c> with a shared norm).</summary>
public sealed class Downsample : TaskModule
{
    private readonly Conv2d _process;
    private readonly Module _norm;

    /// <summary>Creates the shortcut from <paramref name="inChannels"/> to <paramref name="outChannels"/>; <paramref name="tasks"/>
    /// null shares the norm.</summary>
    public Downsample(int inChannels, int outChannels, int stride, IReadOnlyList<string>? tasks)
    {
        _process = RegisterModule("process", new Conv2d(inChannels, outChannels, 1, stride, bias: false));
        _norm = RegisterModule("norm", TaskNorm.Create(outChannels, tasks));
    }

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor x, string task) => TaskNorm.Apply(_norm, _process.Forward(x), task);

    /// <inheritdoc />
    public override string TypeName => "ConvCoupledBatchNormMT";
}
