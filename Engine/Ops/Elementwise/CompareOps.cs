namespace Astmt.Engine.Ops;

// Masks and signs: piecewise-constant functions, so they record no node (their gradient is zero wherever it exists).
public static partial class F
{
    /// <summary>1 where x != value, else 0 (same dtype as x; no gradient).</summary>
    public static Tensor NotEqual(Tensor x, double value) => UnaryForward("ne", UnaryKind.NotEqualMask, x, value);

    /// <summary>1 where x > value, else 0 (same dtype as x; no gradient).</summary>
    public static Tensor Greater(Tensor x, double value) => UnaryForward("gt", UnaryKind.GreaterMask, x, value);

    /// <summary>−1, 0 or 1 by the sign of x (same dtype as x; no gradient).</summary>
    public static Tensor Sign(Tensor x) => UnaryForward("sign", UnaryKind.Sign, x);
}
