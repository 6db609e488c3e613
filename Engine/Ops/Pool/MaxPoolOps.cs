namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>Max pooling that also returns, per output, the flat index (h·W + w) of the winner within its input plane, as
    /// PyTorch's <c>return_indices=True</c>.</summary>
    public static (Tensor Output, Tensor Indices) MaxPool2dWithIndices(Tensor x, int kernel, int stride, int padding = 0) =>
        throw new NotImplementedException("max_pool2d is being written (engine-core issue).");

    /// <summary>Max pooling without indices.</summary>
    public static Tensor MaxPool2d(Tensor x, int kernel, int stride, int padding = 0) => MaxPool2dWithIndices(x, kernel, stride, padding).Output;

    /// <summary>Scatters each value of x to the position its index names in an output plane of <paramref name="outputHeight"/>×<paramref name="outputWidth"/>; zeros elsewhere.</summary>
    public static Tensor MaxUnpool2d(Tensor x, Tensor indices, int outputHeight, int outputWidth) =>
        throw new NotImplementedException("max_unpool2d is being written (engine-core issue).");
}
