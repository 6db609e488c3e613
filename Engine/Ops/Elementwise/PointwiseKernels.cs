using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Astmt.Engine.Cpu;

namespace Astmt.Engine.Ops;

/// <summary>A one-input elementwise function in scalar and Vector256 form; a struct so the JIT specialises every loop.</summary>
internal interface IUnaryKernel<T> where T : unmanaged
{
    T Apply(T x);
    Vector256<T> Apply(Vector256<T> x);
}

/// <summary>A two-input elementwise function (same shapes) in scalar and Vector256 form.</summary>
internal interface IPairKernel<T> where T : unmanaged
{
    T Apply(T a, T b);
    Vector256<T> Apply(Vector256<T> a, Vector256<T> b);
}

/// <summary>
/// The elementwise loops over dense host tensors: Vector256 bodies with scalar tails, split over the worker threads once a
/// tensor is large enough to pay for it. Every op family that maps element by element goes through here.
/// </summary>
internal static class PointwiseKernels
{
    /// <summary>Below this many elements a map runs on the calling thread.</summary>
    private const int ParallelThreshold = 1 << 16;

    /// <summary>Elements per worker range: large enough that the fork-join cost disappears.</summary>
    private const int MinChunk = 1 << 15;

    /// <summary>y = k(x) over dense host tensors of equal length.</summary>
    public static void Map<T, TK>(Tensor x, Tensor y, TK k) where T : unmanaged where TK : struct, IUnaryKernel<T>
    {
        T[] xs = x.HostArray<T>(), ys = y.HostArray<T>();
        int xo = x.Offset, yo = y.Offset, n = y.Numel;
        if (n < ParallelThreshold) { MapRange(xs, xo, ys, yo, n, k); return; }
        Parallelism.For(0, n, MinChunk, (xs, xo, ys, yo, k),
            static (in (T[] Xs, int Xo, T[] Ys, int Yo, TK K) a, int s, int e) => MapRange(a.Xs, a.Xo + s, a.Ys, a.Yo + s, e - s, a.K));
    }

    /// <summary>y = k(a, b) over dense host tensors of equal length.</summary>
    public static void Zip<T, TK>(Tensor a, Tensor b, Tensor y, TK k) where T : unmanaged where TK : struct, IPairKernel<T>
    {
        T[] As = a.HostArray<T>(), bs = b.HostArray<T>(), ys = y.HostArray<T>();
        int ao = a.Offset, bo = b.Offset, yo = y.Offset, n = y.Numel;
        if (n < ParallelThreshold) { ZipRange(As, ao, bs, bo, ys, yo, n, k); return; }
        Parallelism.For(0, n, MinChunk, (As, ao, bs, bo, ys, yo, k),
            static (in (T[] As, int Ao, T[] Bs, int Bo, T[] Ys, int Yo, TK K) a, int s, int e) =>
                ZipRange(a.As, a.Ao + s, a.Bs, a.Bo + s, a.Ys, a.Yo + s, e - s, a.K));
    }

    private static void MapRange<T, TK>(T[] x, int xo, T[] y, int yo, int n, TK k) where T : unmanaged where TK : struct, IUnaryKernel<T>
    {
        ref T xr = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(x), xo);
        ref T yr = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(y), yo);
        int i = 0, w = Vector256<T>.Count;
        for (; i <= n - w; i += w) k.Apply(Vector256.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = k.Apply(Unsafe.Add(ref xr, i));
    }

    private static void ZipRange<T, TK>(T[] a, int ao, T[] b, int bo, T[] y, int yo, int n, TK k) where T : unmanaged where TK : struct, IPairKernel<T>
    {
        ref T ar = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(a), ao);
        ref T br = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(b), bo);
        ref T yr = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(y), yo);
        int i = 0, w = Vector256<T>.Count;
        for (; i <= n - w; i += w)
            k.Apply(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = k.Apply(Unsafe.Add(ref ar, i), Unsafe.Add(ref br, i));
    }
}

/// <summary>Transcendental Vector256 functions for the two floating types, folded to one branch per instantiation by the JIT.</summary>
internal static class VectorFunctions
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Exp<T>(Vector256<T> x) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector256.Exp(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.Exp(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException($"exp on Vector256<{typeof(T).Name}>.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Log<T>(Vector256<T> x) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector256.Log(x.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.Log(x.As<T, double>()).As<double, T>();
        throw new NotSupportedException($"log on Vector256<{typeof(T).Name}>.");
    }

    /// <summary>1 where the mask lane is set, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> Indicator<T>(Vector256<T> mask) where T : unmanaged, INumberBase<T> =>
        Vector256.ConditionalSelect(mask, Vector256.Create(T.One), Vector256<T>.Zero);
}
