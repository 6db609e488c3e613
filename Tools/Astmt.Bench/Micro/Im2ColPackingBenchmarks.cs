using Astmt.Engine.Cpu;
using BenchmarkDotNet.Attributes;

namespace Astmt.Bench.Micro;

/// <summary>
/// The B operand of a full-resolution 3x3 convolution (64 channels at 96x128, one k block of 192 taps by 2048 output
/// positions) on one thread: packed straight from the image (implicit GEMM, forward and backward-weight forms) against
/// unfolding the im2col band first and packing it as a stored matrix.
/// </summary>
public unsafe class Im2ColPackingBenchmarks
{
    private const int C = 64, H = 96, W = 128, KC = 192, NC = 2048;
    private readonly float[] _x = new float[C * H * W];
    private readonly float[] _col = new float[C * 9 * H * W];
    private readonly float[] _panels = new float[KC * NC + 64];
    private Im2ColView _view;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.Threads = 1;
        for (int i = 0; i < _x.Length; i++) _x[i] = (i % 17) * 0.1f;
        _view = new Im2ColView { C = C, H = H, W = W, R = 3, S = 3, P = H, Q = W, Stride = 1, Padding = 1, Dilation = 1, Images = 1, ImageStride = C * H * W };
    }

    /// <summary>Implicit forward packing: col[0..192, 2048..4096) into 64 micro-panels of 32 columns.</summary>
    [Benchmark(Baseline = true)]
    public void ImplicitForward()
    {
        fixed (float* x = _x)
        fixed (float* d = _panels)
        {
            var view = _view;
            view.X = x;
            Im2ColPacking.PackCol<Microkernel512>(view, 0, KC, NC, NC, d);
        }
    }

    /// <summary>Implicit backward-weight packing: colᵀ[2048..2240 positions, 0..576 taps) into 18 micro-panels.</summary>
    [Benchmark]
    public void ImplicitBackwardWeight()
    {
        fixed (float* x = _x)
        fixed (float* d = _panels)
        {
            var view = _view;
            view.X = x;
            Im2ColPacking.PackColTransposed<Microkernel512>(view, NC, KC, 0, C * 9, d);
        }
    }

    /// <summary>The explicit route for the same forward panels: unfold 16 output rows, then pack the stored band.</summary>
    [Benchmark]
    public void UnfoldThenPack()
    {
        Im2Col.Unfold(_x, 0, _col, C, H, W, 3, 3, W, 16, 16, 1, 1, 1);
        fixed (float* col = _col)
        fixed (float* d = _panels)
            GemmPacking.PackB<Microkernel512>(false, col, NC, 0, KC, 0, NC, d);
    }
}
