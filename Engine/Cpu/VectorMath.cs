using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Astmt.Engine.Cpu;

/// <summary>Elementwise span loops on Vector256 (generic over float and double) with scalar tails.</summary>
public static class VectorMath
{
    /// <summary>dst[i] += src[i].</summary>
    public static void AddInPlace<T>(Span<T> dst, ReadOnlySpan<T> src) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (dst.Length != src.Length) throw new ArgumentException("AddInPlace: lengths differ.");
        int i = 0;
        ref T d = ref MemoryMarshal.GetReference(dst);
        ref T s = ref MemoryMarshal.GetReference(src);
        int w = Vector256<T>.Count;
        for (; i <= dst.Length - w; i += w)
            (Vector256.LoadUnsafe(ref d, (nuint)i) + Vector256.LoadUnsafe(ref s, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
        for (; i < dst.Length; i++) Unsafe.Add(ref d, i) += Unsafe.Add(ref s, i);
    }

    /// <summary>dst[i] = a[i] * alpha + b[i] * beta.</summary>
    public static void Axpby<T>(Span<T> dst, ReadOnlySpan<T> a, T alpha, ReadOnlySpan<T> b, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector256<T>.Count;
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        for (; i <= dst.Length - w; i += w)
            (Vector256.Create(a.Slice(i, w)) * va + Vector256.Create(b.Slice(i, w)) * vb).CopyTo(dst.Slice(i, w));
        for (; i < dst.Length; i++) dst[i] = a[i] * alpha + b[i] * beta;
    }

    /// <summary>Sum with a float64 accumulator (sums of millions of float32 values stay accurate).</summary>
    public static double Sum<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double total = 0;
        const int block = 1024;
        for (int start = 0; start < x.Length; start += block)
        {
            var part = x.Slice(start, Math.Min(block, x.Length - start));
            T acc = T.Zero;
            int i = 0, w = Vector256<T>.Count;
            var v = Vector256<T>.Zero;
            for (; i <= part.Length - w; i += w) v += Vector256.Create(part.Slice(i, w));
            acc = Vector256.Sum(v);
            for (; i < part.Length; i++) acc += part[i];
            total += double.CreateTruncating(acc);
        }
        return total;
    }
}
