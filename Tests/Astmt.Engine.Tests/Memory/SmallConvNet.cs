using Astmt.Engine.NN;
using Astmt.Engine.Ops;

namespace Astmt.Engine.Tests.MemoryModel;

/// <summary>
/// A tiny two-head conv network built from Engine/NN modules (conv, BN, ReLU, max pool, bilinear resize) for memory tests:
/// B×3×H×W → conv3×3/BN/ReLU → pool 2×2 → conv3×3/BN/ReLU → bilinear ×2 → 1×1 heads for segmentation logits and a depth map.
/// </summary>
internal sealed class SmallConvNet : Module<Tensor, (Tensor Logits, Tensor Depth)>
{
    public const int Classes = 4;

    private readonly Conv2d _conv1, _conv2, _seg, _depth;
    private readonly BatchNorm2d _bn1, _bn2;

    public SmallConvNet(ulong seed)
    {
        var g = new Generator(seed);
        _conv1 = RegisterModule("conv1", new Conv2d(3, 6, 3, padding: 1, bias: false, generator: g));
        _bn1 = RegisterModule("bn1", new BatchNorm2d(6));
        _conv2 = RegisterModule("conv2", new Conv2d(6, 6, 3, padding: 1, bias: false, generator: g));
        _bn2 = RegisterModule("bn2", new BatchNorm2d(6));
        _seg = RegisterModule("seg", new Conv2d(6, Classes, 1, generator: g));
        _depth = RegisterModule("depth", new Conv2d(6, 1, 1, generator: g));
    }

    protected override (Tensor Logits, Tensor Depth) ForwardCore(Tensor input)
    {
        var h = F.Relu(_bn1.Forward(_conv1.Forward(input)));
        h = F.MaxPool2d(h, 2, 2);
        h = F.Relu(_bn2.Forward(_conv2.Forward(h)));
        h = F.Interpolate(h, input.Shape[2], input.Shape[3], ResizeMode.Bilinear, alignCorners: false);
        return (_seg.Forward(h), _depth.Forward(h));
    }
}
