using System.Globalization;

namespace Astmt.Train.Experiments.Mtan;

/// <summary>Wall time of the parts of a training step, summed over the steps so far: loading the batch, the forward pass with
/// the losses, the train metrics, the backward pass, and the optimizer update.</summary>
public sealed class MtanStepProfile
{
    /// <summary>Training steps measured.</summary>
    public long Steps { get; private set; }

    /// <summary>Images in those steps.</summary>
    public long Images { get; private set; }

    /// <summary>Milliseconds spent loading and collating batches.</summary>
    public double LoadingMs { get; private set; }

    /// <summary>Milliseconds in the forward pass and losses.</summary>
    public double ForwardMs { get; private set; }

    /// <summary>Milliseconds accumulating train metrics.</summary>
    public double MetricsMs { get; private set; }

    /// <summary>Milliseconds in the backward pass (including zeroing gradients).</summary>
    public double BackwardMs { get; private set; }

    /// <summary>Milliseconds in the optimizer update.</summary>
    public double OptimizerMs { get; private set; }

    internal void AddStep(int images, double loading, double forward, double metrics, double backward)
    {
        Steps++;
        Images += images;
        LoadingMs += loading;
        ForwardMs += forward;
        MetricsMs += metrics;
        BackwardMs += backward;
    }

    internal void AddOptimizer(double ms) => OptimizerMs += ms;

    /// <summary>Mean milliseconds per step of each part, for example "forward 120.3 ms, backward 250.1 ms, ...".</summary>
    public string Summary()
    {
        if (Steps == 0) return "no steps yet";
        double total = LoadingMs + ForwardMs + MetricsMs + BackwardMs + OptimizerMs;
        string Part(string name, double ms) => string.Create(CultureInfo.InvariantCulture, $"{name} {ms / Steps:F1} ms ({100 * ms / total:F0}%)");
        return string.Join(", ",
            Part("forward+loss", ForwardMs), Part("backward", BackwardMs), Part("optimizer", OptimizerMs),
            Part("data", LoadingMs), Part("train metrics", MetricsMs)) +
            string.Create(CultureInfo.InvariantCulture, $"; {total / Steps:F1} ms per step of {(double)Images / Steps:F1} images over {Steps} steps");
    }
}
