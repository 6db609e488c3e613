using Astmt.Engine;
using Astmt.Engine.Autograd;
using Astmt.Engine.Ops;
using NUnit.Framework;

namespace Astmt.Engine.Tests.Support;

/// <summary>
/// Finite-difference oracles in float64. The function's output is projected on a fixed random tensor to a scalar, so one
/// check covers every output element. <see cref="CheckSecondOrder"/> differentiates the first-order gradient numerically,
/// which is what create-graph backward must reproduce.
/// </summary>
public static class GradCheck
{
    /// <summary>Counts of checks run, reported in the issue notes.</summary>
    public static int FirstOrderChecks, SecondOrderChecks;

    /// <summary>Checks the analytic gradient of f against central differences for every float64 input that requires grad.</summary>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-6, double atol = 1e-6, double rtol = 1e-5, int seed = 1)
    {
        foreach (var x in inputs) if (x.DType.IsFloating()) x.RequiresGrad = true;
        var diff = inputs.Where(x => x.RequiresGrad).ToArray();
        var probe = Probe(f, inputs, seed);
        Tensor Loss() => F.Sum(F.Mul(f(inputs), probe));
        var analytic = Snapshot(Autograd.Autograd.Grad([Loss()], diff), diff);
        for (int k = 0; k < diff.Length; k++)
        {
            var numeric = Numerical(Loss, diff[k], eps);
            var a = analytic[k];
            Numeric.AssertClose(numeric, a, atol, rtol, $"gradient of input {k} {diff[k].Describe()}");
        }
        Interlocked.Increment(ref FirstOrderChecks);
    }

    /// <summary>Checks d/dx of (projected first-order gradient) against central differences of the first-order gradient.</summary>
    public static void CheckSecondOrder(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-5, double atol = 1e-5, double rtol = 1e-4, int seed = 2)
    {
        foreach (var x in inputs) if (x.DType.IsFloating()) x.RequiresGrad = true;
        var diff = inputs.Where(x => x.RequiresGrad).ToArray();
        var probe = Probe(f, inputs, seed);
        var rng = new Random(seed + 100);
        var gradProbes = diff.Select(x => Numeric.RandomDouble(rng, x.Shape)).ToArray();
        Tensor Inner()
        {
            var loss = F.Sum(F.Mul(f(inputs), probe));
            var grads = Autograd.Autograd.Grad([loss], diff, createGraph: true);
            Tensor? total = null;
            for (int k = 0; k < diff.Length; k++)
            {
                if (grads[k] == null) continue;
                var term = F.Sum(F.Mul(grads[k]!, gradProbes[k]));
                total = total == null ? term : F.Add(total, term);
            }
            return total ?? throw new AssertionException("second-order check: no first-order gradient reached any input");
        }
        var analytic = Snapshot(Autograd.Autograd.Grad([Inner()], diff), diff);
        for (int k = 0; k < diff.Length; k++)
        {
            var numeric = Numerical(Inner, diff[k], eps);
            var a = analytic[k];
            Numeric.AssertClose(numeric, a, atol, rtol, $"second-order gradient of input {k} {diff[k].Describe()}");
        }
        Interlocked.Increment(ref SecondOrderChecks);
    }

    // Gradients are step tensors: copy them out before the finite differences release the step.
    private static double[][] Snapshot(Tensor?[] grads, Tensor[] inputs)
    {
        var r = grads.Select((g, k) => g?.ToDoubleArray() ?? new double[inputs[k].Numel]).ToArray();
        Autograd.Autograd.ReleaseStep();
        return r;
    }

    private static Tensor Probe(Func<Tensor[], Tensor> f, Tensor[] inputs, int seed)
    {
        Tensor y;
        using (Autograd.Autograd.NoGrad()) y = f(inputs);
        return Numeric.RandomDouble(new Random(seed), y.Shape);
    }

    private static double[] Numerical(Func<Tensor> scalar, Tensor x, double eps)
    {
        var data = x.Span<double>();
        var result = new double[data.Length];
        for (int i = 0; i < data.Length; i++)
        {
            double orig = data[i];
            data[i] = orig + eps;
            double plus = Eval(scalar);
            data[i] = orig - eps;
            double minus = Eval(scalar);
            data[i] = orig;
            result[i] = (plus - minus) / (2 * eps);
        }
        return result;
    }

    private static double Eval(Func<Tensor> scalar)
    {
        // Second-order checks need grad mode on to form the inner gradient; the arena is released after each evaluation.
        var v = scalar().Item();
        Autograd.Autograd.ReleaseStep();
        return v;
    }
}
