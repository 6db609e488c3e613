namespace Astmt.Train.Imaging;

/// <summary>Adler-32, the checksum that closes a zlib stream (RFC 1950).</summary>
public static class Adler32
{
    private const uint Modulus = 65521;
    // The largest n such that 255·n·(n+1)/2 + (n+1)·(Modulus−1) fits in 32 bits: sums can run this long before reducing.
    private const int MaxRun = 5552;

    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Update(1, data);

    /// <summary>Folds <paramref name="data"/> into a running checksum (start from 1).</summary>
    public static uint Update(uint adler, ReadOnlySpan<byte> data)
    {
        uint a = adler & 0xFFFF, b = adler >> 16;
        while (data.Length > 0)
        {
            int n = Math.Min(MaxRun, data.Length);
            foreach (byte x in data[..n])
            {
                a += x;
                b += a;
            }
            a %= Modulus;
            b %= Modulus;
            data = data[n..];
        }
        return (b << 16) | a;
    }
}
