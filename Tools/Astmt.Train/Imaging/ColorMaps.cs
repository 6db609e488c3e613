namespace Astmt.Train.Imaging;

/// <summary>The colours prediction grids use: a class palette, a depth colour map, RGB-encoded normals and grey levels.</summary>
public static class ColorMaps
{
    // Anchor colours of viridis at 0, 0.25, 0.5, 0.75 and 1: perceptually ordered and readable by colour-blind people.
    private static readonly (double R, double G, double B)[] Viridis =
        [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)];

    /// <summary>The colour of class <paramref name="label"/>; negative labels (void) are black. Uses the PASCAL VOC palette
    /// shifted by one so that class 0 is not black.</summary>
    public static (byte R, byte G, byte B) Segmentation(int label)
    {
        if (label < 0) return (0, 0, 0);
        int id = label + 1;
        int r = 0, g = 0, b = 0;
        for (int bit = 7; bit >= 0 && id > 0; bit--)
        {
            r |= (id & 1) << bit;
            g |= ((id >> 1) & 1) << bit;
            b |= ((id >> 2) & 1) << bit;
            id >>= 3;
        }
        return ((byte)r, (byte)g, (byte)b);
    }

    /// <summary>The viridis colour of <paramref name="value"/> scaled from [<paramref name="low"/>, <paramref name="high"/>];
    /// non-finite values are black.</summary>
    public static (byte R, byte G, byte B) Depth(double value, double low, double high)
    {
        if (!double.IsFinite(value)) return (0, 0, 0);
        double t = high > low ? Math.Clamp((value - low) / (high - low), 0, 1) : 0.5;
        double x = t * (Viridis.Length - 1);
        int i = Math.Min((int)x, Viridis.Length - 2);
        double f = x - i;
        var (a, b) = (Viridis[i], Viridis[i + 1]);
        return (ToByte(a.R + f * (b.R - a.R)), ToByte(a.G + f * (b.G - a.G)), ToByte(a.B + f * (b.B - a.B)));
    }

    /// <summary>A unit normal as RGB = (n + 1) / 2; a zero vector (invalid) is black.</summary>
    public static (byte R, byte G, byte B) Normal(double x, double y, double z)
    {
        if (x == 0 && y == 0 && z == 0) return (0, 0, 0);
        return (ToByte((x + 1) * 127.5), ToByte((y + 1) * 127.5), ToByte((z + 1) * 127.5));
    }

    /// <summary>A value in [0, 1] as a grey level.</summary>
    public static (byte R, byte G, byte B) Grey(double value)
    {
        byte v = double.IsFinite(value) ? ToByte(value * 255) : (byte)0;
        return (v, v, v);
    }

    /// <summary>Rounds to the nearest byte, clamping to [0, 255].</summary>
    public static byte ToByte(double v) => (byte)Math.Clamp(Math.Round(v), 0, 255);
}
