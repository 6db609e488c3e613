namespace Astmt.Engine;

/// <summary>Shape arithmetic shared by every op: element counts, strides, broadcasting.</summary>
public static class ShapeUtil
{
    /// <summary>Product of the dimensions (1 for a scalar).</summary>
    public static int Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        if (n > int.MaxValue) throw new ArgumentException($"Shape [{string.Join('x', shape.ToArray())}] has more than 2^31 elements.");
        return (int)n;
    }

    /// <summary>Row-major strides for <paramref name="shape"/>.</summary>
    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= Math.Max(shape[i], 1); }
        return s;
    }

    /// <summary>True when strides describe a dense row-major layout (size-1 dimensions may have any stride).</summary>
    public static bool IsContiguous(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides)
    {
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            if (strides[i] != acc) return false;
            acc *= shape[i];
        }
        return true;
    }

    /// <summary>True when both shapes are equal.</summary>
    public static bool Same(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>Formats a shape as <c>[2x3x4]</c>.</summary>
    public static string Format(ReadOnlySpan<int> shape) => $"[{string.Join('x', shape.ToArray())}]";

    /// <summary>NumPy broadcasting of two shapes; throws naming <paramref name="op"/> when they are incompatible.</summary>
    public static int[] Broadcast(string op, ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast together (dimension {i}: {da} vs {db}).");
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    /// <summary>Strides that read <paramref name="shape"/> (contiguous) as if broadcast to <paramref name="target"/>: 0 on broadcast dimensions.</summary>
    public static int[] BroadcastStrides(ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, ReadOnlySpan<int> target)
    {
        var r = new int[target.Length];
        int off = target.Length - shape.Length;
        for (int i = 0; i < target.Length; i++)
        {
            if (i < off) { r[i] = 0; continue; }
            r[i] = shape[i - off] == 1 && target[i] != 1 ? 0 : strides[i - off];
        }
        return r;
    }

    /// <summary>Normalises a possibly negative dimension index.</summary>
    public static int Dim(string op, int dim, int rank)
    {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= Math.Max(rank, 1)) throw new ArgumentOutOfRangeException(nameof(dim), $"{op}: dimension {dim} is out of range for rank {rank}.");
        return d;
    }
}
