namespace Astmt.Engine;

/// <summary>Copies between strided views and dense buffers on the host.</summary>
internal static class StridedCopy
{
    /// <summary>Gathers the elements of a strided host view into a dense row-major span.</summary>
    public static void Gather<T>(Tensor src, Span<T> dst) where T : unmanaged
        => Gather(src.HostArray<T>(), src.Shape, src.Strides, src.Offset, dst);

    /// <summary>Gathers <paramref name="shape"/> elements read with <paramref name="strides"/> from <paramref name="data"/> into <paramref name="dst"/>.</summary>
    public static void Gather<T>(T[] data, int[] shape, int[] strides, int offset, Span<T> dst) where T : unmanaged
    {
        int rank = shape.Length;
        if (rank == 0) { if (dst.Length > 0) dst[0] = data[offset]; return; }
        int n = dst.Length;
        if (n == 0) return;
        Span<int> idx = stackalloc int[rank];
        int inner = shape[rank - 1], innerStride = strides[rank - 1];
        int pos = offset, o = 0;
        while (o < n)
        {
            if (innerStride == 1) { data.AsSpan(pos, inner).CopyTo(dst.Slice(o, inner)); o += inner; }
            else for (int i = 0; i < inner; i++) dst[o++] = data[pos + i * innerStride];
            int d = rank - 2;
            for (; d >= 0; d--)
            {
                idx[d]++;
                pos += strides[d];
                if (idx[d] < shape[d]) break;
                pos -= strides[d] * shape[d];
                idx[d] = 0;
            }
            if (d < 0) break;
        }
    }
}
