namespace Astmt.Models.Data.Augmentation;

/// <summary>
/// The ASTMT reference's training augmentation on a fixed canvas: horizontal flip with probability 0.5 (normal x negated),
/// then ScaleNRotate with rotation U(-20°, 20°) and scale U(0.75, 1.25) about the image centre (w/2, h/2) as cv2's
/// getRotationMatrix2D/warpAffine define it, zero border. Normals' in-plane components are rotated with the image and
/// re-normalised. The reference's FixedResize to 512×512 is <see cref="ResizedDataset"/>, applied to the dataset before
/// this augmentation (the reference resizes after it; the difference is the aspect ratio the rotation sees).
/// </summary>
/// <remarks>
/// Interpolation as in the reference: bicubic (cv2's kernel) for the image and normals, bilinear for depth, nearest for label
/// maps, edges and saliency.
/// </remarks>
public sealed class AstmtFlipScaleRotate : ISampleAugmentation
{
    /// <summary>Largest absolute rotation in degrees.</summary>
    public double MaxRotationDegrees { get; init; } = 20.0;

    /// <summary>Smallest scale.</summary>
    public double MinScale { get; init; } = 0.75;

    /// <summary>Largest scale.</summary>
    public double MaxScale { get; init; } = 1.25;

    /// <summary>When true, label pixels outside the rotated image get the task's ignore label instead of the reference's 0.</summary>
    public bool IgnoreBorderLabels { get; init; }

    /// <inheritdoc />
    public void Apply(MultiTaskSample sample, ref DeterministicRandom rng)
    {
        bool flip = rng.NextDouble() < 0.5;
        double rotation = rng.Uniform(-MaxRotationDegrees, MaxRotationDegrees);
        double scale = rng.Uniform(MinScale, MaxScale);
        if (flip) MtanScaleCropFlip.Flip(sample);
        Warp(sample, rotation, scale);
    }

    /// <summary>Rotates (degrees, counter-clockwise on screen) and scales <paramref name="sample"/> about its centre.</summary>
    public void Warp(MultiTaskSample sample, double rotationDegrees, double scale)
    {
        int h = sample.Height, w = sample.Width, plane = h * w;
        double theta = rotationDegrees * Math.PI / 180.0;
        double cos = Math.Cos(theta), sin = Math.Sin(theta);
        double cx = w / 2.0, cy = h / 2.0;
        // cv2: dst = [α β; -β α]·(src - c) + c with α = s·cos, β = s·sin; invert it to sample the source.
        double inv = 1.0 / scale;
        var map = new Affine(cos * inv, -sin * inv, 0, sin * inv, cos * inv, 0);
        map = map with { Cx = cx - map.Ax * cx - map.Bx * cy, Cy = cy - map.Ay * cx - map.By * cy };

        var scratch = new float[plane];
        for (int c = 0; c < 3; c++) WarpPlane(sample.Image.AsSpan(c * plane, plane), scratch, h, w, map, Interpolation.Cubic);
        for (int t = 0; t < sample.Tasks.Count; t++)
        {
            var task = sample.Tasks[t];
            if (task.Kind.IsLabelMap())
            {
                var src = (long[])sample.Labels[t].Clone();
                Resampling.Nearest(src, h, w, sample.Labels[t], h, w, map, IgnoreBorderLabels ? task.IgnoreLabel : 0);
                continue;
            }
            var mode = task.Kind switch { TaskKind.Normal => Interpolation.Cubic, TaskKind.Depth => Interpolation.Linear, _ => Interpolation.Nearest };
            var values = sample.Values[t];
            for (int c = 0; c < task.Channels; c++) WarpPlane(values.AsSpan(c * plane, plane), scratch, h, w, map, mode);
            if (task.Kind == TaskKind.Normal) RotateNormals(values, plane, cos, sin);
        }
    }

    private enum Interpolation { Nearest, Linear, Cubic }

    private static void WarpPlane(Span<float> data, float[] scratch, int h, int w, in Affine map, Interpolation mode)
    {
        data.CopyTo(scratch);
        switch (mode)
        {
            case Interpolation.Cubic: Resampling.Bicubic(scratch, h, w, data, h, w, map); break;
            case Interpolation.Linear: Resampling.Bilinear(scratch, h, w, data, h, w, map); break;
            default: Resampling.Nearest(scratch, h, w, data, h, w, map); break;
        }
    }

    private static void RotateNormals(float[] values, int plane, double cos, double sin)
    {
        // The image turns counter-clockwise on screen; with x right and y up that is a positive rotation of (nx, ny).
        for (int i = 0; i < plane; i++)
        {
            double nx = values[i], ny = values[plane + i], nz = values[2 * plane + i];
            double rx = cos * nx - sin * ny, ry = sin * nx + cos * ny;
            double norm = Math.Sqrt(rx * rx + ry * ry + nz * nz);
            if (norm <= 1e-12) { values[i] = values[plane + i] = values[2 * plane + i] = 0f; continue; }
            values[i] = (float)(rx / norm);
            values[plane + i] = (float)(ry / norm);
            values[2 * plane + i] = (float)(nz / norm);
        }
    }
}
