using System.Globalization;
using Astmt.Models.Mtan;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>Forward FLOPs per image of an MTAN-family network as <c>info</c> and the report show them: 2 × the multiply-adds
/// of its convolutions and linear layers (<see cref="MtanModels.MultiplyAccumulatesPerImage"/>; batch norm, activations,
/// pooling and attention products are left out, as the usual counters do).</summary>
public static class MtanFlopCounter
{
    /// <summary>The forward FLOPs of one H×W image.</summary>
    public static long Count(MultiTaskNetwork network, int height, int width) => 2 * MtanModels.MultiplyAccumulatesPerImage(network, height, width);

    /// <summary>The count written out in full, with GFLOPs.</summary>
    public static string Describe(MultiTaskNetwork network, int height, int width)
    {
        long flops = Count(network, height, width);
        return string.Create(CultureInfo.InvariantCulture, $"{flops:N0} ({flops / 1e9:F2} GFLOPs = 2 x multiply-adds)");
    }
}
