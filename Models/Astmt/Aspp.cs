using Astmt.Engine;
using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Models.Astmt;

/// <summary>
/// Atrous spatial pyramid pooling (spec §1.2): a 1×1 branch, three 3×3 branches with dilation = rate, and an image-pooling branch
/// (GAP → 1×1, no adapter, broadcast back with a bilinear resize from 1×1); the five are concatenated and fused by a 1×1 conv.
/// Keys: <c>conv2d_list.{0..4}.…</c>, <c>conv2d_final.…</c>.
/// </summary>
public sealed class Aspp : TaskModule
{
    private readonly ModuleList<ConvCoupledSE> _branches;
    private readonly ConvCoupledSE _final;

    /// <summary>Creates the module from <paramref name="inChannels"/> to <paramref name="width"/> with dilation <paramref name="rates"/>.</summary>
    public Aspp(IReadOnlyList<string> tasks, int inChannels, int width, IReadOnlyList<int> rates, bool normPerTask, bool squeeze, bool adapters)
    {
        _branches = RegisterModule("conv2d_list", new ModuleList<ConvCoupledSE>());
        _branches.Append(new ConvCoupledSE(tasks, [new Conv2d(inChannels, width, 1, bias: false)], normPerTask, squeeze, adapters));
        foreach (int r in rates)
            _branches.Append(new ConvCoupledSE(tasks, [new Conv2d(inChannels, width, 3, 1, r, r, bias: false)], normPerTask, squeeze, adapters));
        _branches.Append(new ConvCoupledSE(tasks, [new GlobalAvgPool(), new Conv2d(inChannels, width, 1, bias: false)], normPerTask, squeeze, adapters: false));
        _final = RegisterModule("conv2d_final", new ConvCoupledSE(tasks, [new Conv2d(_branches.Count * width, width, 1, bias: false)], normPerTask, squeeze, adapters));
    }

    /// <summary>The branches (1×1, the dilated 3×3s, image pooling).</summary>
    public IReadOnlyList<ConvCoupledSE> Branches => _branches;

    /// <inheritdoc />
    protected override Tensor ForwardCore(Tensor x, string task)
    {
        var parts = new Tensor[_branches.Count];
        for (int i = 0; i < parts.Length; i++) parts[i] = _branches[i].Forward(x, task);
        parts[^1] = F.Interpolate(parts[^1], x.Shape[2], x.Shape[3], ResizeMode.Bilinear, alignCorners: false);
        return _final.Forward(F.Cat(parts, 1), task);
    }

    /// <inheritdoc />
    public override string TypeName => "ASPPv3Plus";
}
