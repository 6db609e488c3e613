namespace Astmt.Engine.Ops;

public static partial class F
{
    /// <summary>sum(|pred − target|·mask) / sum(mask): L1 over the valid elements. The mask broadcasts to the prediction's shape
    /// and is counted as broadcast, so a [B,1,H,W] mask on [B,3,H,W] normals divides by 3 × valid pixels (ASTMT's normals loss).
    /// NaN when the mask is empty (0/0, as the reference code).</summary>
    public static Tensor MaskedL1(Tensor prediction, Tensor target, Tensor mask)
    {
        const string op = "masked_l1";
        CheckFloat(op, prediction);
        CheckPair(op, prediction, target);
        CheckPair(op, prediction, mask);
        if (!ShapeUtil.Same(prediction.Shape, target.Shape))
            throw new ArgumentException($"{op}: prediction {prediction.Describe()} and target {target.Describe()} must have the same shape.");
        if (!ShapeUtil.Same(ShapeUtil.Broadcast(op, prediction.Shape, mask.Shape), prediction.Shape))
            throw new ArgumentException($"{op}: the mask {mask.Describe()} must broadcast to the prediction's shape {ShapeUtil.Format(prediction.Shape)}.");
        // Composed from differentiable ops (|·| has gradient sign, Mul and Div their usual ones), so first and second
        // derivatives with respect to the prediction, the target and even the mask follow from them.
        double replication = (double)prediction.Numel / Math.Max(mask.Numel, 1);
        var numerator = Sum(Mul(Abs(Sub(prediction, target)), mask));
        var validCount = Mul(Sum(mask), replication);
        return Div(numerator, validCount);
    }
}
