namespace Astmt.Engine.Tests.Ops;

/// <summary>Naive float64 loops over one dimension of a row-major shape viewed as [outer, size, inner]: the oracles of the
/// softmax, max and norm kernels.</summary>
internal static class AlongDimReference
{
    public static (int Outer, int Size, int Inner) Split(int[] shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= shape[i];
        for (int i = dim + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, shape[dim], inner);
    }

    /// <summary>Applies <paramref name="f"/> to every line along <paramref name="dim"/>; f maps the line to an output line.</summary>
    public static double[] MapLines(double[] x, int[] shape, int dim, Func<double[], double[]> f, int outputLength)
    {
        var (outer, size, inner) = Split(shape, dim);
        var y = new double[outer * outputLength * inner];
        var line = new double[size];
        for (int o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++)
        {
            for (int c = 0; c < size; c++) line[c] = x[(o * size + c) * inner + i];
            var r = f(line);
            for (int c = 0; c < outputLength; c++) y[(o * outputLength + c) * inner + i] = r[c];
        }
        return y;
    }

    public static double[] Softmax(double[] line)
    {
        double m = line.Max();
        var e = line.Select(v => Math.Exp(v - m)).ToArray();
        double s = e.Sum();
        return e.Select(v => v / s).ToArray();
    }

    public static double[] LogSoftmax(double[] line)
    {
        double m = line.Max();
        double lse = m + Math.Log(line.Sum(v => Math.Exp(v - m)));
        return line.Select(v => v - lse).ToArray();
    }
}
