namespace Astmt.Models.Data.Augmentation;

/// <summary>
/// The MTAN reference's optional augmentation (<c>--apply_augmentation</c>, not used in the paper): RandomScaleCrop with a
/// zoom sc ∈ {1.0, 1.2, 1.5}, cropping int(H/sc)×int(W/sc) at a random offset (inclusive range) and resizing it back to
/// H×W (image and normals bilinear with align_corners=True; label maps, depth, edges and saliency nearest as PyTorch's
/// 'nearest' does, src = floor(dst·in/out)); depth is divided by sc. Then, with probability 0.5, a horizontal flip of every
/// array with the normal's x component negated. Normals are not re-normalised, as in the reference.
/// </summary>
public sealed class MtanScaleCropFlip : ISampleAugmentation
{
    private static readonly double[] Scales = [1.0, 1.2, 1.5];

    /// <inheritdoc />
    public void Apply(MultiTaskSample sample, ref DeterministicRandom rng)
    {
        int h = sample.Height, w = sample.Width;
        double sc = Scales[rng.NextInt(Scales.Length)];
        int ch = (int)(h / sc), cw = (int)(w / sc);
        int i = rng.NextInclusive(0, h - ch), j = rng.NextInclusive(0, w - cw);
        bool flip = rng.NextDouble() < 0.5;
        if (sc != 1.0) ScaleCrop(sample, sc, ch, cw, i, j);
        if (flip) Flip(sample);
    }

    private static void ScaleCrop(MultiTaskSample sample, double sc, int ch, int cw, int i, int j)
    {
        int h = sample.Height, w = sample.Width, plane = h * w;
        // align_corners=True: src = j + x·(cw-1)/(w-1).
        var bilinear = Affine.Axis(w > 1 ? (cw - 1.0) / (w - 1) : 0, j, h > 1 ? (ch - 1.0) / (h - 1) : 0, i);
        var scratch = new float[plane];
        BilinearPlanes(sample.Image, 3, scratch, h, w, bilinear);
        for (int t = 0; t < sample.Tasks.Count; t++)
        {
            var task = sample.Tasks[t];
            if (task.Kind.IsLabelMap())
            {
                var src = (long[])sample.Labels[t].Clone();
                NearestCrop<long>(src, sample.Labels[t], h, w, ch, cw, i, j);
                continue;
            }
            var values = sample.Values[t];
            if (task.Kind == TaskKind.Normal)
            {
                BilinearPlanes(values, task.Channels, scratch, h, w, bilinear);
                continue;
            }
            for (int c = 0; c < task.Channels; c++)
            {
                var planeSpan = values.AsSpan(c * plane, plane);
                planeSpan.CopyTo(scratch);
                NearestCrop<float>(scratch, planeSpan, h, w, ch, cw, i, j);
                if (task.Kind == TaskKind.Depth)
                    foreach (ref var v in planeSpan) v = (float)(v / sc);
            }
        }
    }

    private static void BilinearPlanes(float[] data, int channels, float[] scratch, int h, int w, in Affine map)
    {
        int plane = h * w;
        for (int c = 0; c < channels; c++)
        {
            var dst = data.AsSpan(c * plane, plane);
            dst.CopyTo(scratch);
            Resampling.Bilinear(scratch, h, w, dst, h, w, map);
        }
    }

    private static void NearestCrop<T>(ReadOnlySpan<T> src, Span<T> dst, int h, int w, int ch, int cw, int i, int j)
    {
        for (int y = 0; y < h; y++)
        {
            int sy = i + Math.Min(ch - 1, (int)Math.Floor(y * (double)ch / h));
            for (int x = 0; x < w; x++)
            {
                int sx = j + Math.Min(cw - 1, (int)Math.Floor(x * (double)cw / w));
                dst[y * w + x] = src[sy * w + sx];
            }
        }
    }

    internal static void Flip(MultiTaskSample sample)
    {
        int h = sample.Height, w = sample.Width, plane = h * w;
        for (int c = 0; c < 3; c++) Resampling.FlipRows(sample.Image.AsSpan(c * plane, plane), h, w);
        for (int t = 0; t < sample.Tasks.Count; t++)
        {
            var task = sample.Tasks[t];
            if (task.Kind.IsLabelMap()) { Resampling.FlipRows(sample.Labels[t].AsSpan(), h, w); continue; }
            var values = sample.Values[t];
            for (int c = 0; c < task.Channels; c++) Resampling.FlipRows(values.AsSpan(c * plane, plane), h, w);
            if (task.Kind == TaskKind.Normal)
                foreach (ref var v in values.AsSpan(0, plane)) v = -v;
        }
    }
}

