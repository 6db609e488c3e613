namespace Astmt.Bench.Commands;

/// <summary>One GEMM to time: op(A) M×K times op(B) K×N in the given form ("nn", "nt", "tn", "tt").</summary>
internal sealed record GemmCase(string Name, string Form, int M, int N, int K)
{
    public bool TransA => Form[0] == 't';
    public bool TransB => Form[1] == 't';
    public double Flops => 2.0 * M * N * K;
}

/// <summary>
/// Shape suites. The SegNet suites are the im2col GEMMs of the shared SegNet's 3×3 convolutions (VGG16 encoder and its
/// mirror decoder, filters 64-128-256-512-512, one image): forward is NN with M = K_out, N = H·W, K = 9·C; backward-data
/// is TN (M = 9·C, N = H·W, K = K_out); backward-weight is NT (M = K_out, N = 9·C, K = H·W).
/// </summary>
internal static class GemmShapes
{
    public static readonly string[] SuiteNames = ["square", "segnet-96x128", "segnet-288x384"];

    public static IReadOnlyList<GemmCase> Suite(string suite, IReadOnlyList<string> forms) => suite switch
    {
        "square" => [.. new[] { 512, 1024, 2048 }.SelectMany(s => forms.Select(f => new GemmCase($"{s}^3", f, s, s, s)))],
        "segnet-96x128" => SegNet(96, 128, forms),
        "segnet-288x384" => SegNet(288, 384, forms),
        _ => throw new ArgumentException($"--suite: unknown suite '{suite}'; expected one of {string.Join(", ", SuiteNames)}."),
    };

    private static IReadOnlyList<GemmCase> SegNet(int height, int width, IReadOnlyList<string> forms)
    {
        // (stage, C in, K out): the distinct 3×3 convolutions of the shared encoder and decoder; stage s runs at H/2^s × W/2^s.
        (int Stage, int Cin, int Kout)[] convs =
        [
            (0, 3, 64), (0, 64, 64),
            (1, 64, 128), (1, 128, 128), (1, 128, 64),
            (2, 128, 256), (2, 256, 256), (2, 256, 128),
            (3, 256, 512), (3, 512, 512), (3, 512, 256),
            (4, 512, 512),
        ];
        var cases = new List<GemmCase>();
        foreach (var (stage, cin, kout) in convs)
        {
            int hw = (height >> stage) * (width >> stage);
            string name = $"s{stage} {cin}->{kout}@{height >> stage}x{width >> stage}";
            foreach (var form in forms)
            {
                cases.Add(form switch
                {
                    "nn" => new GemmCase(name + " fwd", "nn", kout, hw, 9 * cin),
                    "tn" => new GemmCase(name + " bwd-data", "tn", 9 * cin, hw, kout),
                    "nt" => new GemmCase(name + " bwd-weight", "nt", kout, 9 * cin, hw),
                    _ => throw new ArgumentException($"--forms: the SegNet suites use nn (forward), tn (backward-data) and nt (backward-weight), not '{form}'."),
                });
            }
        }
        return cases;
    }
}
