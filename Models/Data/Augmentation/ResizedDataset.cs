namespace Astmt.Models.Data.Augmentation;

/// <summary>
/// A dataset resized to a fixed size, aspect ratio not preserved (ASTMT's FixedResize, 512×512 by default there), with the
/// reference's interpolation: bicubic (cv2's kernel) for the image and normals (re-normalised), bilinear for depth, both with
/// pixel-centre alignment (align_corners=False) and replicated borders; nearest for label maps, edges and saliency.
/// </summary>
public sealed class ResizedDataset : IMultiTaskDataset
{
    private readonly IMultiTaskDataset _inner;
    private readonly ThreadLocal<MultiTaskSample> _source;

    /// <summary>Wraps <paramref name="inner"/> so every sample comes out <paramref name="height"/>×<paramref name="width"/>.</summary>
    public ResizedDataset(IMultiTaskDataset inner, int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"Resize target must be positive, got {height}×{width}.");
        _inner = inner;
        Height = height;
        Width = width;
        _source = new ThreadLocal<MultiTaskSample>(() => new MultiTaskSample(inner.Tasks, inner.Height, inner.Width));
    }

    /// <inheritdoc />
    public string Name => $"{_inner.Name}@{Height}x{Width}";

    /// <inheritdoc />
    public int Count => _inner.Count;

    /// <inheritdoc />
    public int Height { get; }

    /// <inheritdoc />
    public int Width { get; }

    /// <inheritdoc />
    public IReadOnlyList<TaskSpec> Tasks => _inner.Tasks;

    /// <inheritdoc />
    public void Load(int index, MultiTaskSample into)
    {
        var src = _source.Value!;
        _inner.Load(index, src);
        into.Index = index;
        int h = src.Height, w = src.Width, sp = h * w, dp = Height * Width;
        // align_corners=False: src = (dst + 0.5)·in/out - 0.5; nearest uses floor(dst·in/out) like cv2 INTER_NEAREST.
        var linear = Affine.Axis((double)w / Width, 0.5 * w / Width - 0.5, (double)h / Height, 0.5 * h / Height - 0.5);
        var nearest = Affine.Axis((double)w / Width, -0.5 + 1e-9, (double)h / Height, -0.5 + 1e-9);
        for (int c = 0; c < 3; c++)
            Resampling.Bicubic(src.Image.AsSpan(c * sp, sp), h, w, into.Image.AsSpan(c * dp, dp), Height, Width, linear, replicateBorder: true);
        for (int t = 0; t < Tasks.Count; t++)
        {
            var task = Tasks[t];
            if (task.Kind.IsLabelMap())
            {
                Resampling.Nearest(src.Labels[t], h, w, into.Labels[t], Height, Width, nearest, task.IgnoreLabel);
                continue;
            }
            for (int c = 0; c < task.Channels; c++)
            {
                var s = src.Values[t].AsSpan(c * sp, sp);
                var d = into.Values[t].AsSpan(c * dp, dp);
                if (task.Kind == TaskKind.Normal) Resampling.Bicubic(s, h, w, d, Height, Width, linear, replicateBorder: true);
                else if (task.Kind == TaskKind.Depth) Resampling.Bilinear(s, h, w, d, Height, Width, linear, replicateBorder: true);
                else Resampling.Nearest(s, h, w, d, Height, Width, nearest);
            }
            if (task.Kind == TaskKind.Normal) Renormalise(into.Values[t], dp);
        }
    }

    private static void Renormalise(float[] values, int plane)
    {
        for (int i = 0; i < plane; i++)
        {
            double x = values[i], y = values[plane + i], z = values[2 * plane + i];
            double n = Math.Sqrt(x * x + y * y + z * z);
            if (n <= 1e-12) continue;
            values[i] = (float)(x / n); values[plane + i] = (float)(y / n); values[2 * plane + i] = (float)(z / n);
        }
    }
}
