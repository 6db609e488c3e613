namespace Astmt.Engine.Optim;

/// <summary>
/// Polynomial decay: lr = initial_lr · (1 − min(iter, maxIterations) / maxIterations)^power. With power 0.9 this is ASTMT's
/// "poly" schedule (<c>lr·(1 − iter/max_iter)^0.9</c>); it equals PyTorch's PolynomialLR closed form.
/// </summary>
public sealed class PolyLR : LrScheduler
{
    /// <summary>Decays every group's rate to 0 over <paramref name="maxIterations"/> steps.</summary>
    public PolyLR(Optimizer optimizer, int maxIterations, double power = 0.9) : base(optimizer)
    {
        if (maxIterations <= 0) throw new ArgumentOutOfRangeException(nameof(maxIterations), $"PolyLR: max iterations must be >= 1, got {maxIterations}.");
        if (!(power >= 0)) throw new ArgumentOutOfRangeException(nameof(power), $"PolyLR: power must be >= 0, got {power}.");
        MaxIterations = maxIterations;
        Power = power;
        SetEpoch(0);
    }

    /// <summary>Iterations after which the rate stays 0.</summary>
    public int MaxIterations { get; }

    /// <summary>Exponent of the decay.</summary>
    public double Power { get; }

    /// <inheritdoc />
    public override double LearningRateAt(double baseLearningRate, int epoch) =>
        baseLearningRate * Math.Pow(1.0 - (double)Math.Min(epoch, MaxIterations) / MaxIterations, Power);
}
