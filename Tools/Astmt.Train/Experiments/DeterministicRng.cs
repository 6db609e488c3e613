using Astmt.Engine;

namespace Astmt.Train.Experiments;

/// <summary>
/// xoshiro256** seeded by SplitMix64: a small, fast generator whose whole state is four 64-bit words, so it can be saved in
/// a checkpoint and restored exactly (unlike <see cref="Random"/>). The same seed gives the same numbers on every platform.
/// </summary>
public sealed class DeterministicRng
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator seeded from <paramref name="seed"/> and an optional <paramref name="stream"/> number, so several
    /// independent generators can come from one user seed.</summary>
    public DeterministicRng(long seed, long stream = 0)
    {
        ulong x = unchecked((ulong)seed ^ ((ulong)stream * 0xD1B54A32D192ED03UL));
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias.</summary>
    public int NextInt(int bound)
    {
        if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), $"The bound must be positive, got {bound}.");
        ulong threshold = (0UL - (ulong)bound) % (ulong)bound;
        while (true)
        {
            ulong r = NextUInt64();
            if (r >= threshold) return (int)(r % (ulong)bound);
        }
    }

    /// <summary>A standard normal sample (Box–Muller, one value per call).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // in (0, 1], so the log is finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates).</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>The state as a four-element int64 tensor, for checkpoints.</summary>
    public Tensor SaveState() => Tensor.FromArray(new[] { (long)_s0, (long)_s1, (long)_s2, (long)_s3 }, 4);

    /// <summary>Restores a state from <see cref="SaveState"/>.</summary>
    public void LoadState(Tensor state)
    {
        if (state.DType != DType.Int64 || state.Numel != 4)
            throw new ConfigurationException($"An RNG state must be 4 int64 values, got {state.Describe()}.");
        var s = state.ToArray<long>();
        (_s0, _s1, _s2, _s3) = ((ulong)s[0], (ulong)s[1], (ulong)s[2], (ulong)s[3]);
        if ((_s0 | _s1 | _s2 | _s3) == 0) throw new ConfigurationException("An RNG state of all zeros is invalid for xoshiro256**.");
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
