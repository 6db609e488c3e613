namespace Astmt.Train.Imaging;

/// <summary>An 8-bit RGB image, rows top to bottom, three bytes a pixel.</summary>
public sealed class RgbImage
{
    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Pixels as R, G, B bytes, row-major (H×W×3).</summary>
    public byte[] Pixels { get; }

    /// <summary>A black image of the given size.</summary>
    public RgbImage(int width, int height)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"An image needs a positive size, got {width}x{height}.");
        Width = width;
        Height = height;
        Pixels = new byte[checked(width * height * 3)];
    }

    /// <summary>Sets pixel (<paramref name="x"/>, <paramref name="y"/>).</summary>
    public void Set(int x, int y, byte r, byte g, byte b)
    {
        int i = (y * Width + x) * 3;
        Pixels[i] = r;
        Pixels[i + 1] = g;
        Pixels[i + 2] = b;
    }

    /// <summary>Fills the whole image with one colour.</summary>
    public void Fill(byte r, byte g, byte b)
    {
        for (int i = 0; i < Pixels.Length; i += 3)
        {
            Pixels[i] = r;
            Pixels[i + 1] = g;
            Pixels[i + 2] = b;
        }
    }

    /// <summary>Copies <paramref name="source"/> into this image with its top-left corner at (<paramref name="left"/>, <paramref name="top"/>).</summary>
    public void Paste(RgbImage source, int left, int top)
    {
        if (left < 0 || top < 0 || left + source.Width > Width || top + source.Height > Height)
            throw new ArgumentException($"A {source.Width}x{source.Height} tile at ({left},{top}) does not fit a {Width}x{Height} image.");
        for (int y = 0; y < source.Height; y++)
            source.Pixels.AsSpan(y * source.Width * 3, source.Width * 3).CopyTo(Pixels.AsSpan(((top + y) * Width + left) * 3));
    }
}
