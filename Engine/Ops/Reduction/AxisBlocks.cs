namespace Astmt.Engine.Ops;

/// <summary>
/// How the CPU kernels that walk an [outer, size, inner] tensor along its middle axis (softmax, norm, max/argmax) split
/// the work: an item is one outer index × up to <see cref="Block"/> consecutive inner positions, so each item streams
/// contiguous rows of at most <see cref="Block"/> elements and keeps its per-position state in a stack buffer.
/// </summary>
internal static class AxisBlocks
{
    /// <summary>Inner positions per item (the length of the items' stack buffers).</summary>
    public const int Block = 256;

    /// <summary>Items per outer index.</summary>
    public static int PerOuter(int inner) => (inner + Block - 1) / Block;

    /// <summary>Items per parallel chunk: about 32 Ki elements of work, so small tensors stay on one thread.</summary>
    public static int MinChunk(int size, int inner) => Math.Max(1, (1 << 15) / Math.Max(1, size * Math.Min(inner, Block)));
}
