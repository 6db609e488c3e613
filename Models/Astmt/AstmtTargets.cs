using Astmt.Engine;
using Astmt.Models.Data;
using Astmt.Models.Losses;

namespace Astmt.Models.Astmt;

/// <summary>
/// Converts a data batch to the ground-truth convention of the ASTMT losses: float [B,C,H,W] with 255 marking void. Label maps
/// (Int64 [B,H,W], void already 255) become [B,1,H,W]; depth's missing value 0 and normals' zero vector become 255; edges and
/// saliency pass through.
/// </summary>
public static class AstmtTargets
{
    /// <summary>The ground truths of <paramref name="batch"/> by task name, in the ASTMT convention (new tensors).</summary>
    public static Dictionary<string, Tensor> FromBatch(MultiTaskBatch batch)
    {
        var result = new Dictionary<string, Tensor>();
        for (int t = 0; t < batch.Tasks.Count; t++) result[batch.Tasks[t].Name] = Convert(batch.Tasks[t], batch.Targets[t]);
        return result;
    }

    /// <summary>One target of kind <paramref name="spec"/> in the ASTMT convention.</summary>
    public static Tensor Convert(TaskSpec spec, Tensor target)
    {
        if (spec.Kind.IsLabelMap())
        {
            if (target.Rank != 3) throw new ArgumentException($"AstmtTargets: label map '{spec.Name}' must be [B,H,W], got {target.Describe()}.");
            if (spec.IgnoreLabel != AstmtLosses.IgnoreLabel && spec.IgnoreLabel >= 0)
                throw new ArgumentException($"AstmtTargets: '{spec.Name}' marks void with {spec.IgnoreLabel}; ASTMT expects 255 (use the ASTMT task set).");
            var labels = target.To(DType.Int64).ToArray<long>();
            var values = new float[labels.Length];
            for (int i = 0; i < labels.Length; i++) values[i] = labels[i] < 0 ? AstmtLosses.IgnoreLabel : labels[i];
            return Tensor.FromArray(values, target.Shape[0], 1, target.Shape[1], target.Shape[2]);
        }
        if (target.Rank != 4) throw new ArgumentException($"AstmtTargets: dense target '{spec.Name}' must be [B,C,H,W], got {target.Describe()}.");
        var data = target.To(DType.Float32).ToArray<float>();
        int b = target.Shape[0], c = target.Shape[1], hw = target.Shape[2] * target.Shape[3];
        if (spec.Kind is TaskKind.Depth or TaskKind.Normal)
        {
            for (int n = 0; n < b; n++)
                for (int p = 0; p < hw; p++)
                {
                    bool missing = true;
                    for (int ch = 0; ch < c && missing; ch++) missing = data[(n * c + ch) * hw + p] == 0;
                    if (!missing) continue;
                    for (int ch = 0; ch < c; ch++) data[(n * c + ch) * hw + p] = AstmtLosses.IgnoreLabel;
                }
        }
        return Tensor.FromArray(data, (int[])target.Shape.Clone());
    }
}
