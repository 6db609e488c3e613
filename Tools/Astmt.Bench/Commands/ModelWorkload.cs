using Astmt.Engine;

namespace Astmt.Bench.Commands;

/// <summary>
/// One model set up for timing by <c>train-step</c> and <c>forward</c>: network, inputs, losses and optimizer, with the FLOP
/// count of a step and the arguments that make <c>Tools/bench/pytorch_reference.py</c> build the same thing.
/// </summary>
internal interface IModelWorkload : IDisposable
{
    /// <summary>The model name as given on the command line.</summary>
    string Model { get; }

    /// <summary>Trainable parameters (compared with the reference's count, which must be equal).</summary>
    long Parameters { get; }

    /// <summary>Conv and linear multiply-accumulates of one eval-mode forward pass over the whole batch.</summary>
    long ForwardMacsPerBatch { get; }

    /// <summary>How the FLOPs of a training step are counted, printed with the results.</summary>
    string FlopConvention { get; }

    /// <summary>Arguments after the command and shapes that select this model in the reference script.</summary>
    IReadOnlyList<string> ReferenceArguments { get; }

    /// <summary>One full training step.</summary>
    void TrainStep();

    /// <summary>One eval-mode forward pass without a graph.</summary>
    void Forward();
}

/// <summary>Builds workloads by model name and fills inputs with seeded random values.</summary>
internal static class ModelWorkloads
{
    /// <summary>The model names <c>--model</c> accepts.</summary>
    public static IReadOnlyList<string> Names => [.. Astmt.Models.Mtan.MtanModels.Names, .. AstmtWorkload.Names];

    /// <summary>Builds the workload of <paramref name="model"/>, or throws naming the accepted models.</summary>
    public static IModelWorkload Create(string model, int batch, int height, int width, Device? device = null)
    {
        var on = device ?? Device.Cpu;
        if (batch < 1 || height < 1 || width < 1)
            throw new ArgumentException($"--batch, --height and --width must be positive, got {batch}, {height}, {width}.");
        string name = model.ToLowerInvariant();
        if (Astmt.Models.Mtan.MtanModels.Names.Contains(name)) return new MtanWorkload(name, batch, height, width, on);
        if (AstmtWorkload.Names.Contains(name))
            return new AstmtWorkload(name, batch, height, width, on);
        throw new ArgumentException($"--model: unknown model '{model}'; expected one of {string.Join(", ", Names)}.");
    }

    /// <summary>A float tensor of uniform values in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public static Tensor Uniform(Random rng, double low, double high, params int[] shape)
    {
        var data = new float[ShapeElements(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(low + (high - low) * rng.NextDouble());
        return Tensor.FromArray(data, shape);
    }

    /// <summary>Unit vectors along dimension 1 of a [B,3,H,W] tensor.</summary>
    public static Tensor UnitNormals(Random rng, int batch, int height, int width)
    {
        int plane = height * width;
        var data = new float[batch * 3 * plane];
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < plane; p++)
            {
                double x = rng.NextDouble() * 2 - 1, y = rng.NextDouble() * 2 - 1, z = rng.NextDouble() * 2 - 1;
                double n = Math.Max(Math.Sqrt(x * x + y * y + z * z), 1e-6);
                int o = b * 3 * plane + p;
                data[o] = (float)(x / n);
                data[o + plane] = (float)(y / n);
                data[o + 2 * plane] = (float)(z / n);
            }
        return Tensor.FromArray(data, batch, 3, height, width);
    }

    /// <summary>Integer labels in [0, <paramref name="classes"/>) as Int64.</summary>
    public static Tensor Labels(Random rng, int classes, params int[] shape)
    {
        var data = new long[ShapeElements(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(classes);
        return Tensor.FromArray(data, shape);
    }

    private static int ShapeElements(int[] shape)
    {
        long n = 1;
        foreach (int d in shape) n *= d;
        return checked((int)n);
    }
}
