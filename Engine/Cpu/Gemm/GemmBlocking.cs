using System.Globalization;

namespace Astmt.Engine.Cpu;

/// <summary>
/// Cache blocking of the packed GEMM (Goto/BLIS loop nest). One kc×NR micro-panel of B stays in L1 while the packed
/// mc×kc block of A streams from L2 and the packed kc×nc panel of B sits in L3. The sizes depend only on the kernel and
/// the cache sizes, never on the thread count, so every C element is summed in the same order for any <c>--threads</c>.
/// Environment variables <c>ASTMT_GEMM_KC</c>, <c>ASTMT_GEMM_MC</c> and <c>ASTMT_GEMM_NC</c> override them for tuning.
/// </summary>
internal readonly record struct GemmBlocking(int KC, int MC, int NC)
{
    /// <summary>When set, replaces the computed blocking for every kernel (tests use tiny blocks to exercise every loop
    /// of the nest on small matrices). MC and NC are rounded up to multiples of each kernel's MR and NR.</summary>
    internal static GemmBlocking? Forced { get; set; }

    /// <summary>Blocking for kernel <typeparamref name="TK"/>, computed once.</summary>
    public static GemmBlocking For<TK>() where TK : struct, IMicrokernel =>
        Forced is { } f ? new GemmBlocking(Math.Max(1, f.KC), RoundUp(f.MC, TK.MR), RoundUp(f.NC, TK.NR)) : Cache<TK>.Value;

    private static int RoundUp(int value, int multiple) => Math.Max(multiple, (value + multiple - 1) / multiple * multiple);

    private static class Cache<TK> where TK : struct, IMicrokernel
    {
        public static readonly GemmBlocking Value = Compute(TK.MR, TK.NR);
    }

    /// <summary>Blocking for a kernel with the given register tile.</summary>
    public static GemmBlocking Compute(int mr, int nr)
    {
        // Two thirds of L1 for the B micro-panel leaves room for the streamed A micro-panel and the C tile. A longer kc
        // also means fewer read-modify-write passes over C; measured on a 48 KiB L1 (kc 256 for NR = 32), this beat half
        // of L1 by about 5% at 1024³ and 2048³.
        int kc = Math.Clamp(CacheSizes.L1 * 2 / 3 / (nr * sizeof(float)) / 16 * 16, 64, 512);
        // Half of L2 for the packed A block.
        int mc = Math.Clamp(CacheSizes.L2 / 2 / (kc * sizeof(float)) / mr * mr, mr, 4096 / mr * mr);
        int nc = Math.Clamp(CacheSizes.L3 / 8 / (kc * sizeof(float)) / nr * nr, nr, 4096 / nr * nr);
        kc = Override("ASTMT_GEMM_KC", kc, 1);
        mc = Override("ASTMT_GEMM_MC", mc, mr);
        nc = Override("ASTMT_GEMM_NC", nc, nr);
        return new GemmBlocking(kc, mc, nc);
    }

    private static int Override(string name, int value, int multiple)
    {
        string? text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrWhiteSpace(text)) return value;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 1)
            throw new InvalidOperationException($"{name} must be a positive integer, got '{text}'.");
        return Math.Max(multiple, (v + multiple - 1) / multiple * multiple);
    }
}
