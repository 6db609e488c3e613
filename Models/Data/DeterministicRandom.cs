namespace Astmt.Models.Data;

/// <summary>
/// A small, fast, platform-independent random generator (SplitMix64). Data order, augmentation and synthetic scenes derive
/// their streams from (seed, epoch, index) with <see cref="Derive"/>, so results never depend on thread scheduling or on the
/// .NET version (System.Random's algorithm is not a contract).
/// </summary>
public struct DeterministicRandom
{
    private ulong _state;

    /// <summary>Starts a stream from a seed.</summary>
    public DeterministicRandom(ulong seed) => _state = Mix(seed ^ 0x9E3779B97F4A7C15UL);

    /// <summary>An independent stream for a (seed, a, b, c) key, e.g. (run seed, epoch, sample index, purpose).</summary>
    public static DeterministicRandom Derive(ulong seed, ulong a, ulong b = 0, ulong c = 0)
    {
        ulong h = Mix(seed + 0x632BE59BD9B4E019UL);
        h = Mix(h ^ (a + 0x9E3779B97F4A7C15UL));
        h = Mix(h ^ (b + 0xD1B54A32D192ED03UL));
        h = Mix(h ^ (c + 0x8CB92BA72F3D8DD7UL));
        return new DeterministicRandom(h);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform double in [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>A uniform integer in [0, n) without modulo bias (Lemire's multiply-shift with rejection).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"NextInt needs a positive bound, got {n}.");
        ulong bound = (ulong)n;
        ulong threshold = (0UL - bound) % bound;
        while (true)
        {
            ulong r = NextUInt64();
            UInt128 m = (UInt128)r * bound;
            if ((ulong)m >= threshold) return (int)(m >> 64);
        }
    }

    /// <summary>A uniform integer in [lo, hi] (both inclusive).</summary>
    public int NextInclusive(int lo, int hi) => lo + NextInt(hi - lo + 1);

    /// <summary>A standard normal sample (Box-Muller; one of the pair is discarded to keep the stream position simple).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher-Yates shuffle of <paramref name="items"/> in place.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
