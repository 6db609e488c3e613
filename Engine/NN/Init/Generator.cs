using System.Buffers.Binary;

namespace Astmt.Engine.NN;

/// <summary>
/// The seeded random source of the engine (PyTorch's <c>torch.Generator</c>): a xoshiro256** core seeded through SplitMix64, with
/// uniform and normal samplers. Its full state, including a cached normal variate, can be saved and restored, so a run resumed
/// from a checkpoint draws the same numbers as one that never stopped.
/// </summary>
/// <remarks>Not thread-safe: give each thread its own generator.</remarks>
public sealed class Generator
{
    /// <summary>Number of bytes in a saved state (<see cref="GetState"/>).</summary>
    public const int StateBytes = 4 * sizeof(ulong) + 1 + sizeof(double);

    private ulong _s0, _s1, _s2, _s3;
    private bool _hasSpareNormal;
    private double _spareNormal;

    /// <summary>A generator seeded with <paramref name="seed"/>.</summary>
    public Generator(ulong seed = 0) => ManualSeed(seed);

    /// <summary>The process-wide generator used by module constructors when none is given (as PyTorch's default generator).</summary>
    public static Generator Default { get; } = new(0);

    /// <summary>The seed last passed to <see cref="ManualSeed"/>.</summary>
    public ulong InitialSeed { get; private set; }

    /// <summary>Re-seeds the generator (PyTorch's <c>manual_seed</c>).</summary>
    public Generator ManualSeed(ulong seed)
    {
        InitialSeed = seed;
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
        _hasSpareNormal = false;
        _spareNormal = 0;
        return this;
    }

    /// <summary>The full state as bytes: the four xoshiro words, then the cached-normal flag and value (little-endian).</summary>
    public byte[] GetState()
    {
        var bytes = new byte[StateBytes];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span[0..], _s0);
        BinaryPrimitives.WriteUInt64LittleEndian(span[8..], _s1);
        BinaryPrimitives.WriteUInt64LittleEndian(span[16..], _s2);
        BinaryPrimitives.WriteUInt64LittleEndian(span[24..], _s3);
        span[32] = _hasSpareNormal ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteDoubleLittleEndian(span[33..], _spareNormal);
        return bytes;
    }

    /// <summary>Restores a state produced by <see cref="GetState"/>.</summary>
    public void SetState(ReadOnlySpan<byte> state)
    {
        if (state.Length != StateBytes)
            throw new ArgumentException($"Generator.SetState: expected {StateBytes} bytes (from GetState), got {state.Length}.");
        ulong s0 = BinaryPrimitives.ReadUInt64LittleEndian(state[0..]), s1 = BinaryPrimitives.ReadUInt64LittleEndian(state[8..]);
        ulong s2 = BinaryPrimitives.ReadUInt64LittleEndian(state[16..]), s3 = BinaryPrimitives.ReadUInt64LittleEndian(state[24..]);
        if ((s0 | s1 | s2 | s3) == 0) throw new ArgumentException("Generator.SetState: the all-zero xoshiro state is invalid (the generator would only return zeros).");
        if (state[32] > 1) throw new ArgumentException($"Generator.SetState: byte 32 (cached-normal flag) must be 0 or 1, got {state[32]}.");
        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
        _hasSpareNormal = state[32] == 1;
        _spareNormal = BinaryPrimitives.ReadDoubleLittleEndian(state[33..]);
    }

    /// <summary>The next 64 random bits (xoshiro256**).</summary>
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

    /// <summary>A uniform double in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public double NextUniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>A uniform integer in [0, <paramref name="exclusiveMax"/>) without modulo bias.</summary>
    public long NextInt64(long exclusiveMax)
    {
        if (exclusiveMax <= 0) throw new ArgumentOutOfRangeException(nameof(exclusiveMax), exclusiveMax, "Generator.NextInt64: the bound must be positive.");
        ulong bound = (ulong)exclusiveMax;
        ulong threshold = (0UL - bound) % bound;
        while (true)
        {
            ulong r = NextUInt64();
            if (r >= threshold) return (long)(r % bound);
        }
    }

    /// <summary>A standard normal variate (Box–Muller; the second variate of each pair is cached and part of the state).</summary>
    public double NextNormal()
    {
        if (_hasSpareNormal)
        {
            _hasSpareNormal = false;
            return _spareNormal;
        }
        double u1 = 1.0 - NextDouble(); // (0, 1]: log(u1) is finite
        double u2 = NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        double angle = 2.0 * Math.PI * u2;
        _spareNormal = radius * Math.Sin(angle);
        _hasSpareNormal = true;
        return radius * Math.Cos(angle);
    }

    /// <summary>A normal variate with the given mean and standard deviation.</summary>
    public double NextNormal(double mean, double std) => mean + std * NextNormal();

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
