using Astmt.Engine;

namespace Astmt.Models.Metrics;

/// <summary>Host element access for metric inputs, with a clear error when a tensor has the wrong type or shape.</summary>
internal static class TensorSpans
{
    public static ReadOnlySpan<float> Floats(Tensor t, string what)
    {
        if (t.DType != DType.Float32) throw new ArgumentException($"{what}: expected a float32 tensor, got {t.Describe()}.");
        return t.Device.IsCpu && t.IsContiguous ? t.Span<float>() : t.ToArray<float>();
    }

    public static ReadOnlySpan<long> Longs(Tensor t, string what)
    {
        if (t.DType != DType.Int64) throw new ArgumentException($"{what}: expected an int64 tensor, got {t.Describe()}.");
        return t.Device.IsCpu && t.IsContiguous ? t.Span<long>() : t.ToArray<long>();
    }

    public static void Expect(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }

    /// <summary>Checks a B×<paramref name="channels"/>×H×W map and its ground truth of the same shape; the message names
    /// <paramref name="where"/> and what the map holds.</summary>
    public static void ExpectMapAndTruth(Tensor map, Tensor truth, int channels, string where, string what) =>
        Expect(map.Rank == 4 && map.Shape[1] == channels && map.Shape.SequenceEqual(truth.Shape),
            $"{where}: expected B×{channels}×H×W {what} and ground truth of the same shape, got {map.Describe()} and {truth.Describe()}.");

    /// <summary>Checks B×<paramref name="classCount"/>×H×W scores and B×H×W labels; the message names <paramref name="where"/>.</summary>
    public static void ExpectScoresAndLabels(Tensor scores, Tensor labels, int classCount, string where) =>
        Expect(scores.Rank == 4 && scores.Shape[1] == classCount && labels.Rank == 3 && labels.Shape[0] == scores.Shape[0]
            && labels.Shape[1] == scores.Shape[2] && labels.Shape[2] == scores.Shape[3],
            $"{where}: expected scores B×{classCount}×H×W and labels B×H×W, got {scores.Describe()} and {labels.Describe()}.");
}
