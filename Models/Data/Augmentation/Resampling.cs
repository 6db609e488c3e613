namespace Astmt.Models.Data.Augmentation;

/// <summary>
/// Plane resampling kernels shared by the augmentations. Each maps a destination pixel to a source coordinate through a
/// caller-given affine transform <c>src = (ax·x + bx·y + cx, ay·x + by·y + cy)</c> in pixel-centre coordinates of the
/// source grid; samples outside the source read a fill value.
/// </summary>
internal static class Resampling
{
    /// <summary>Bilinear resampling of one H×W plane into a dstH×dstW plane; <paramref name="replicateBorder"/> clamps the
    /// source coordinate to the image (cv2.resize's border) instead of reading <paramref name="fill"/>.</summary>
    public static void Bilinear(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int dstH, int dstW,
        in Affine map, float fill = 0f, bool replicateBorder = false)
    {
        for (int y = 0; y < dstH; y++)
        for (int x = 0; x < dstW; x++)
        {
            map.Apply(x, y, out double sx, out double sy);
            if (replicateBorder)
            {
                sx = Math.Clamp(sx, 0, w - 1);
                sy = Math.Clamp(sy, 0, h - 1);
            }
            int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
            double fx = sx - x0, fy = sy - y0;
            double v00 = At(src, h, w, y0, x0, fill), v01 = At(src, h, w, y0, x0 + 1, fill);
            double v10 = At(src, h, w, y0 + 1, x0, fill), v11 = At(src, h, w, y0 + 1, x0 + 1, fill);
            dst[y * dstW + x] = (float)((v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy);
        }
    }

    /// <summary>
    /// Bicubic resampling with cv2's kernel (INTER_CUBIC, a = −0.75) over the 4×4 neighbourhood; outside taps read
    /// <paramref name="fill"/> or, with <paramref name="replicateBorder"/>, the nearest edge pixel.
    /// </summary>
    public static void Bicubic(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int dstH, int dstW,
        in Affine map, float fill = 0f, bool replicateBorder = false)
    {
        Span<double> wx = stackalloc double[4];
        Span<double> wy = stackalloc double[4];
        for (int y = 0; y < dstH; y++)
        for (int x = 0; x < dstW; x++)
        {
            map.Apply(x, y, out double sx, out double sy);
            int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
            CubicWeights(sx - x0, wx);
            CubicWeights(sy - y0, wy);
            double acc = 0;
            for (int j = 0; j < 4; j++)
            {
                int yy = y0 - 1 + j;
                if (replicateBorder) yy = Math.Clamp(yy, 0, h - 1);
                double row = 0;
                for (int i = 0; i < 4; i++)
                {
                    int xx = x0 - 1 + i;
                    if (replicateBorder) xx = Math.Clamp(xx, 0, w - 1);
                    row += wx[i] * At(src, h, w, yy, xx, fill);
                }
                acc += wy[j] * row;
            }
            dst[y * dstW + x] = (float)acc;
        }
    }

    private static void CubicWeights(double t, Span<double> weights)
    {
        const double a = -0.75;
        weights[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a;
        weights[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
        weights[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1;
        weights[3] = 1 - weights[0] - weights[1] - weights[2];
    }

    /// <summary>Nearest-neighbour resampling (round half up) of a float plane.</summary>
    public static void Nearest(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int dstH, int dstW, in Affine map, float fill = 0f)
    {
        for (int y = 0; y < dstH; y++)
        for (int x = 0; x < dstW; x++)
        {
            map.Apply(x, y, out double sx, out double sy);
            int ix = (int)Math.Floor(sx + 0.5), iy = (int)Math.Floor(sy + 0.5);
            dst[y * dstW + x] = (uint)ix < (uint)w && (uint)iy < (uint)h ? src[iy * w + ix] : fill;
        }
    }

    /// <summary>Nearest-neighbour resampling (round half up) of a label plane.</summary>
    public static void Nearest(ReadOnlySpan<long> src, int h, int w, Span<long> dst, int dstH, int dstW, in Affine map, long fill)
    {
        for (int y = 0; y < dstH; y++)
        for (int x = 0; x < dstW; x++)
        {
            map.Apply(x, y, out double sx, out double sy);
            int ix = (int)Math.Floor(sx + 0.5), iy = (int)Math.Floor(sy + 0.5);
            dst[y * dstW + x] = (uint)ix < (uint)w && (uint)iy < (uint)h ? src[iy * w + ix] : fill;
        }
    }

    /// <summary>Mirrors every row of a plane in place.</summary>
    public static void FlipRows<T>(Span<T> plane, int h, int w)
    {
        for (int y = 0; y < h; y++) plane.Slice(y * w, w).Reverse();
    }

    private static double At(ReadOnlySpan<float> src, int h, int w, int y, int x, float fill) =>
        (uint)x < (uint)w && (uint)y < (uint)h ? src[y * w + x] : fill;
}

/// <summary>An affine map from destination pixel (x, y) to source coordinates.</summary>
internal readonly record struct Affine(double Ax, double Bx, double Cx, double Ay, double By, double Cy)
{
    public void Apply(int x, int y, out double sx, out double sy)
    {
        sx = Ax * x + Bx * y + Cx;
        sy = Ay * x + By * y + Cy;
    }

    /// <summary>Axis-aligned map: src = offset + dst·scale per axis.</summary>
    public static Affine Axis(double scaleX, double offsetX, double scaleY, double offsetY) => new(scaleX, 0, offsetX, 0, scaleY, offsetY);
}
