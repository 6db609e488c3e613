namespace Astmt.Models.Metrics;

/// <summary>One task's metric for Δm: the single-task baseline's value, the evaluated model's value, and its direction.</summary>
/// <param name="Name">Metric name, for reports.</param>
/// <param name="Baseline">Single-task value M_b.</param>
/// <param name="Model">Multi-task value M_m.</param>
/// <param name="LowerIsBetter">True for errors (normal mean angle, depth RMSE, depth abs/rel error).</param>
public readonly record struct TaskMetricComparison(string Name, double Baseline, double Model, bool LowerIsBetter);

/// <summary>
/// Relative multi-task performance (Maninis et al. 2019, Eq. 4): Δm = (1/T) Σ_i (−1)^{l_i} (M_b,i − M_m,i) / M_b,i × 100, with
/// l_i = 1 when lower is better. Positive Δm is a drop (the ASTMT paper's sign); <see cref="ImprovementPercent"/> is −Δm, the
/// sign MTAN's README and later work use.
/// </summary>
public static class MultiTaskPerformance
{
    /// <summary>Δm in percent, positive meaning the multi-task model is worse on average.</summary>
    public static double DropPercent(IReadOnlyList<TaskMetricComparison> metrics)
    {
        if (metrics.Count == 0) throw new ArgumentException("Δm needs at least one task metric.");
        double sum = 0;
        foreach (var m in metrics)
        {
            if (m.Baseline == 0 || double.IsNaN(m.Baseline))
                throw new ArgumentException($"Δm: the baseline of '{m.Name}' is {m.Baseline}; a relative change needs a non-zero baseline.");
            double drop = (m.Baseline - m.Model) / m.Baseline;
            sum += m.LowerIsBetter ? -drop : drop;
        }
        return 100.0 * sum / metrics.Count;
    }

    /// <summary>−Δm: the average relative improvement over the single-task baselines, in percent.</summary>
    public static double ImprovementPercent(IReadOnlyList<TaskMetricComparison> metrics) => -DropPercent(metrics);
}
