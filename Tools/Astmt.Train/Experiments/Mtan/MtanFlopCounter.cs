using System.Globalization;
using System.Reflection;
using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Models.Mtan;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>
/// Forward FLOPs per image of an MTAN-family network: 2 × the multiply-adds of its convolutions (the usual convention;
/// batch norm, activations, pooling and attention products add well under 1% and are left out). Each convolution's output
/// size is read from the autograd tape of one eval-mode forward pass at 32×32; every layer of these networks works at the input
/// size divided by a power of two, so the count at H×W (multiples of 32) is that count times (H/32)·(W/32), exactly.
/// </summary>
public static class MtanFlopCounter
{
    /// <summary>The convolution FLOPs of one forward pass of <paramref name="network"/> on one H×W image.</summary>
    public static long Count(MultiTaskNetwork network, int height, int width)
    {
        if (height % 32 != 0 || width % 32 != 0) throw new ArgumentException($"MtanFlopCounter: {height}x{width} is not a multiple of 32.");
        bool training = network.Training;
        network.Eval();
        long flops = 0;
        try
        {
            using var image = Tensor.Zeros([1, 3, 32, 32]);
            var output = network.Forward(image);
            var seen = new HashSet<Node>(ReferenceEqualityComparer.Instance);
            var stack = new Stack<Node>(output.Predictions.Select(p => p.GradFn).OfType<Node>());
            while (stack.Count > 0)
            {
                var node = stack.Pop();
                if (!seen.Add(node)) continue;
                var inputs = (Tensor?[])InputsProperty.GetValue(node)!;
                if (node.OpName == "conv2d" && inputs.Length > 1 && inputs[1] is { } weight)
                {
                    var shape = (int[])OutputShapeProperty.GetValue(node)!;
                    flops += 2L * shape[2] * shape[3] * weight.Numel;
                }
                foreach (var input in inputs)
                    if (input?.GradFn is { } producer) stack.Push(producer);
            }
        }
        finally
        {
            Autograd.ReleaseStep();
            network.Train(training);
        }
        return flops * (height / 32) * (width / 32);
    }

    /// <summary>The count written out in full with its GFLOPs, or why it is unavailable.</summary>
    public static string Describe(MultiTaskNetwork network, int height, int width)
    {
        try
        {
            long flops = Count(network, height, width);
            return string.Create(CultureInfo.InvariantCulture, $"{flops:N0} ({flops / 1e9:F2} GFLOPs; 2 x conv multiply-adds)");
        }
        catch (Exception e) when (e is InvalidCastException or NullReferenceException or TargetException)
        {
            return "not available (the engine's tape changed shape)";
        }
    }

    // The tape's per-node inputs and output shape are internal to the engine; the trainer only reads them here.
    private static readonly PropertyInfo InputsProperty = typeof(Node).GetProperty("Inputs", BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly PropertyInfo OutputShapeProperty = typeof(Node).GetProperty("OutputShape", BindingFlags.Instance | BindingFlags.NonPublic)!;
}
