namespace Astmt.Models.Synthetic;

/// <summary>
/// Everything rendered from one scene at H×W, channels-first: RGB in [0,1]; semantic class (13 classes); z-depth in metres
/// (0 = invalid, on windows); camera-frame unit normals (x right, y up, z towards the camera; 0 = invalid); object instance
/// ids; part labels (0 background, 1..6); saliency (1 on foreground objects); edges (1 where the instance changes to the
/// right or below, i.e. on object and region boundaries, or where depth jumps by more than 10% within an object). Buffers are reused across renders.
/// </summary>
public sealed class SceneRendering
{
    /// <summary>Allocates buffers for H×W.</summary>
    public SceneRendering(int height, int width)
    {
        if (height < 2 || width < 2) throw new ArgumentOutOfRangeException(nameof(height), $"A synthetic scene needs at least 2×2 pixels, got {height}×{width}.");
        Height = height;
        Width = width;
        int n = height * width;
        Image = new float[3 * n];
        Semantic = new long[n];
        Depth = new float[n];
        Normal = new float[3 * n];
        Instance = new int[n];
        Parts = new long[n];
        Saliency = new float[n];
        Edges = new float[n];
    }

    /// <summary>Height.</summary>
    public int Height { get; }
    /// <summary>Width.</summary>
    public int Width { get; }
    /// <summary>RGB, 3×H×W in [0,1].</summary>
    public float[] Image { get; }
    /// <summary>Class ids, H×W.</summary>
    public long[] Semantic { get; }
    /// <summary>Z-depth in metres, H×W; 0 = invalid.</summary>
    public float[] Depth { get; }
    /// <summary>Camera-frame normals, 3×H×W; (0,0,0) = invalid.</summary>
    public float[] Normal { get; }
    /// <summary>Instance ids, H×W.</summary>
    public int[] Instance { get; }
    /// <summary>Part labels, H×W.</summary>
    public long[] Parts { get; }
    /// <summary>Saliency in {0,1}, H×W.</summary>
    public float[] Saliency { get; }
    /// <summary>Edges in {0,1}, H×W.</summary>
    public float[] Edges { get; }
    /// <summary>Focal length in pixels (for back-projection: X = (x + 0.5 - W/2)·Z/f, Y = -(y + 0.5 - H/2)·Z/f).</summary>
    public double Focal { get; internal set; }
}
