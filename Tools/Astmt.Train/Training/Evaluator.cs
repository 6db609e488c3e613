using Astmt.Train.Experiments;
using Astmt.Train.Output;

namespace Astmt.Train.Training;

/// <summary>Runs an experiment's evaluation over the whole evaluation set in fixed order, with progress.</summary>
public static class Evaluator
{
    /// <summary>Evaluates every sample in batches of <paramref name="batchSize"/>.</summary>
    public static EvaluationResult Run(IExperiment experiment, int batchSize, RunConsole console, string title)
    {
        var evaluation = experiment.BeginEvaluation();
        int n = experiment.EvalCount;
        console.Progress(title, n, 0, sink =>
        {
            for (int start = 0; start < n; start += batchSize)
            {
                int count = Math.Min(batchSize, n - start);
                var indices = new int[count];
                for (int i = 0; i < count; i++) indices[i] = start + i;
                evaluation.Add(indices);
                sink.Advance(count, "");
            }
        });
        return evaluation.Finish();
    }
}
