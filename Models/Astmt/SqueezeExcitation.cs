using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Astmt;

/// <summary>
/// Squeeze-and-excitation (spec §1.3): y = GAP(x) → Linear(C, C/r) → ReLU → Linear(C/r, C) → Sigmoid, output x·y per channel.
/// With a task list the excitation MLP is one per task (<c>fc.&lt;task&gt;.0.weight</c>), otherwise shared (<c>fc.0.weight</c>).
/// </summary>
public sealed class SqueezeExcitation : TaskModule
{
    private readonly Module _fc;

    /// <summary>Creates the block over <paramref name="channels"/> with hidden width channels/<paramref name="reduction"/>;
    /// <paramref name="tasks"/> null makes it shared by all tasks.</summary>
    public SqueezeExcitation(int channels, int reduction, IReadOnlyList<string>? tasks)
    {
        if (channels / reduction < 1)
            throw new ArgumentException($"SqueezeExcitation: {channels} channels with reduction {reduction} leave no hidden unit.");
        Channels = channels;
        Hidden = channels / reduction;
        IsTaskSpecific = tasks != null;
        _fc = RegisterModule<Module>("fc", tasks == null ? Mlp() : new ModuleDict<Sequential>(tasks.Select(t => KeyValuePair.Create(t, Mlp()))));
    }

    /// <summary>Channels C.</summary>
    public int Channels { get; }

    /// <summary>Hidden width C/r.</summary>
    public int Hidden { get; }

    /// <summary>True when each task has its own excitation MLP.</summary>
    public bool IsTaskSpecific { get; }

    private Sequential Mlp() => new(new Linear(Channels, Hidden), new ReLU(), new Linear(Hidden, Channels), new Sigmoid());

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor x, string task)
    {
        var mlp = _fc is ModuleDict<Sequential> perTask ? perTask[task] : (Sequential)_fc;
        // The Sequential keeps the reference layout and state-dict keys. The fused op saves image-sized passes but runs the
        // excitation MLP as scalar float64 loops, so it only pays where the image outweighs the MLP (H·W ≥ 4·C/r, e.g.
        // layer1-2 at 64x64); on small deep maps (layer4: 2048 channels at 4x4) the chain's GEMM-backed Linear is faster.
        if (x.Rank == 4 && x.Shape[2] * x.Shape[3] >= 4 * Hidden)
        {
            var squeeze = (Linear)mlp[0];
            var excite = (Linear)mlp[2];
            return F.SqueezeExcite(x, squeeze.Weight, squeeze.Bias, excite.Weight, excite.Bias);
        }
        return F.ChannelScale(x, mlp.Forward(F.Mean(x, [2, 3])));
    }

    /// <inheritdoc />
    public override string TypeName => "SELayerMultiTaskDict";
}
