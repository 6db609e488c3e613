using Astmt.Train.Experiments;

namespace Astmt.Train.Imaging;

/// <summary>Draws a task's prediction grid: one row per sample, columns input | prediction | ground truth.</summary>
public static class PredictionGrid
{
    /// <summary>Pixels between tiles.</summary>
    public const int Gap = 2;

    /// <summary>The grid of <paramref name="task"/> over <paramref name="samples"/>.</summary>
    public static RgbImage Draw(TaskInfo task, IReadOnlyList<PredictionSample> samples)
    {
        if (samples.Count == 0) throw new ArgumentException("A prediction grid needs at least one sample.", nameof(samples));
        int h = samples[0].Input.Height, w = samples[0].Input.Width;
        var grid = new RgbImage(3 * w + 4 * Gap, samples.Count * (h + Gap) + Gap);
        grid.Fill(255, 255, 255);
        for (int row = 0; row < samples.Count; row++)
        {
            var sample = samples[row];
            if (!sample.Tasks.TryGetValue(task.Name, out var p))
                throw new InvalidOperationException($"The prediction sample has no entry for task '{task.Name}'.");
            int top = Gap + row * (h + Gap);
            grid.Paste(RenderInput(sample.Input, w, h), Gap, top);
            var (low, high) = task.Kind == MapKind.Depth ? ValidRange(p.GroundTruth) : (0.0, 1.0);
            grid.Paste(Render(task, p.Prediction, w, h, low, high), 2 * Gap + w, top);
            grid.Paste(Render(task, p.GroundTruth, w, h, low, high), 3 * Gap + 2 * w, top);
        }
        return grid;
    }

    /// <summary>Renders an H×W×3 image in [0, 1] at <paramref name="w"/>×<paramref name="h"/> (nearest neighbour).</summary>
    public static RgbImage RenderInput(DenseMap input, int w, int h)
    {
        var img = new RgbImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int sy = y * input.Height / h, sx = x * input.Width / w;
                if (input.Channels >= 3)
                    img.Set(x, y, ColorMaps.ToByte(input[sy, sx, 0] * 255), ColorMaps.ToByte(input[sy, sx, 1] * 255), ColorMaps.ToByte(input[sy, sx, 2] * 255));
                else
                {
                    var (r, g, b) = ColorMaps.Grey(input[sy, sx]);
                    img.Set(x, y, r, g, b);
                }
            }
        return img;
    }

    /// <summary>Renders one task map with the task's colour map at <paramref name="w"/>×<paramref name="h"/>.</summary>
    public static RgbImage Render(TaskInfo task, DenseMap map, int w, int h, double low, double high)
    {
        var img = new RgbImage(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int sy = y * map.Height / h, sx = x * map.Width / w;
                var (r, g, b) = task.Kind switch
                {
                    MapKind.Segmentation => ColorMaps.Segmentation((int)MathF.Round(map[sy, sx])),
                    MapKind.Depth => map[sy, sx] > 0 ? ColorMaps.Depth(map[sy, sx], low, high) : ((byte)0, (byte)0, (byte)0),
                    MapKind.Normals => ColorMaps.Normal(map[sy, sx, 0], map[sy, sx, 1], map[sy, sx, 2]),
                    _ => ColorMaps.Grey(map[sy, sx]),
                };
                img.Set(x, y, r, g, b);
            }
        return img;
    }

    /// <summary>The smallest and largest valid (positive, finite) value of a depth map; (0, 1) when none is valid.</summary>
    public static (double Low, double High) ValidRange(DenseMap depth)
    {
        double low = double.PositiveInfinity, high = double.NegativeInfinity;
        foreach (float v in depth.Values)
            if (v > 0 && float.IsFinite(v))
            {
                low = Math.Min(low, v);
                high = Math.Max(high, v);
            }
        return low <= high ? (low, high) : (0, 1);
    }
}
