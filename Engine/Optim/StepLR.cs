namespace Astmt.Engine.Optim;

/// <summary>PyTorch's StepLR: lr = initial_lr · gamma^⌊epoch / stepSize⌋ (MTAN: step 100, gamma 0.5).</summary>
public sealed class StepLR : LrScheduler
{
    /// <summary>Decays every group's rate by <paramref name="gamma"/> every <paramref name="stepSize"/> epochs.</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), $"StepLR: step size must be >= 1, got {stepSize}.");
        if (!(gamma > 0)) throw new ArgumentOutOfRangeException(nameof(gamma), $"StepLR: gamma must be > 0, got {gamma}.");
        StepSize = stepSize;
        Gamma = gamma;
        SetEpoch(0);
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>Multiplicative decay.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    public override double LearningRateAt(double baseLearningRate, int epoch) => baseLearningRate * Math.Pow(Gamma, epoch / StepSize);
}
