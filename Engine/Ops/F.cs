namespace Astmt.Engine.Ops;

/// <summary>
/// The functional op set (PyTorch's <c>torch</c> / <c>torch.nn.functional</c>). Each op lives in its own file under
/// <c>Ops/</c> with its forward and backward side by side; backward is written with these same ops, so gradients are themselves
/// differentiable.
/// </summary>
public static partial class F
{
    /// <summary>Throws unless <paramref name="t"/> is floating-point.</summary>
    internal static void CheckFloat(string op, Tensor t)
    {
        if (!t.DType.IsFloating()) throw new ArgumentException($"{op}: expected a Float32 or Float64 tensor, got {t.Describe()}.");
    }

    /// <summary>Throws unless both tensors share dtype and device.</summary>
    internal static void CheckPair(string op, Tensor a, Tensor b)
    {
        DeviceOps.CheckSameDevice(op, a, b);
        if (a.DType != b.DType) throw new ArgumentException($"{op}: dtypes differ: {a.Describe()} and {b.Describe()}.");
    }

    /// <summary>Throws unless <paramref name="t"/> has rank <paramref name="rank"/>.</summary>
    internal static void CheckRank(string op, Tensor t, int rank, string layout)
    {
        if (t.Rank != rank) throw new ArgumentException($"{op}: expected a rank-{rank} tensor ({layout}), got {t.Describe()}.");
    }

    /// <summary>A contiguous version of <paramref name="t"/> for kernels that need dense input (no autograd link).</summary>
    internal static Tensor Dense(Tensor t) => t.IsContiguous ? t : t.ContiguousCopy();
}
