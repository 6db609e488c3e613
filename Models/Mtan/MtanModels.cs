using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.NN;

namespace Astmt.Models.Mtan;

/// <summary>Builds the MTAN-family networks by name and initialises them as the reference does.</summary>
public static class MtanModels
{
    /// <summary>SegNet filter widths.</summary>
    public static readonly IReadOnlyList<int> StandardFilters = [64, 128, 256, 512, 512];

    /// <summary>Split-wide filter widths.</summary>
    public static readonly IReadOnlyList<int> WideFilters = [64, 128, 256, 512, 1024];

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "mtan-segnet", "stan", "segnet-single", "segnet-split", "segnet-split-wide", "segnet-split-deep", "segnet-dense", "segnet-cross-stitch",
    ];

    /// <summary>Builds the network called <paramref name="name"/> (one of <see cref="Names"/>; "segnet-split-standard" is an alias
    /// of "segnet-split").</summary>
    public static MultiTaskNetwork Create(string name, MtanModelOptions? options = null)
    {
        var o = options ?? new MtanModelOptions();
        int classes = o.ClassCount ?? MtanTasks.ClassCount(o.Dataset);
        if (classes < 1) throw new ArgumentOutOfRangeException(nameof(options), classes, "MTAN models need at least one semantic class.");
        var tasks = MtanTasks.For(o.Dataset);
        var standard = SegNetBackbone.ScaleFilters(StandardFilters, o.Width);
        MultiTaskNetwork network;
        ConvInit init = ConvInit.XavierNormal;
        using (Init.Skip())
        {
            switch (name.ToLowerInvariant())
            {
                case "mtan-segnet" or "mtan": network = new MtanSegNet(tasks, classes, standard); break;
                case "stan": network = new MtanSegNet([o.SingleTask], classes, standard, singleTask: true); break;
                case "segnet-single" or "single": network = new SegNetSingle(o.SingleTask, classes, standard); break;
                case "segnet-split" or "segnet-split-standard" or "split": network = new SegNetSplit(tasks, classes, standard, SplitType.Standard); break;
                case "segnet-split-wide": network = new SegNetSplit(tasks, classes, SegNetBackbone.ScaleFilters(WideFilters, o.Width), SplitType.Wide); break;
                case "segnet-split-deep": network = new SegNetSplit(tasks, classes, standard, SplitType.Deep); break;
                case "segnet-dense" or "dense": network = new SegNetDense(tasks, classes, standard); init = ConvInit.XavierUniform; break;
                case "segnet-cross-stitch" or "cross-stitch": network = new SegNetCrossStitch(tasks, classes, standard); init = ConvInit.XavierUniform; break;
                default: throw new ArgumentException($"Unknown MTAN model '{name}'; expected one of: {string.Join(", ", Names)}.");
            }
        }
        if (o.Initialize) MtanInit.Apply(network, init, new Generator(o.Seed));
        return network;
    }

    /// <summary>
    /// Conv multiply-accumulates of one image of <paramref name="height"/>×<paramref name="width"/> (both multiples of 32) through
    /// <paramref name="network"/> in evaluation mode. Every layer of these networks works at the input size divided by a power of
    /// two no larger than 32, so the count is exactly proportional to H·W: it is measured on a 32×32 image and scaled.
    /// </summary>
    public static long MultiplyAccumulatesPerImage(MultiTaskNetwork network, int height, int width)
    {
        if (height <= 0 || width <= 0 || height % 32 != 0 || width % 32 != 0)
            throw new ArgumentException($"MultiplyAccumulatesPerImage: height and width must be positive multiples of 32, got {height}x{width}.");
        bool training = network.Training;
        network.Eval();
        try
        {
            using var counter = FlopCounter.Start();
            using (Autograd.NoGrad())
            using (var x = Tensor.Zeros([1, 3, 32, 32], network.Parameters().First().DType, network.Parameters().First().Device))
                network.Forward(x);
            return counter.MultiplyAccumulates * (height / 32) * (width / 32);
        }
        finally
        {
            network.Train(training);
        }
    }
}
