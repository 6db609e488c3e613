using Astmt.Engine.Cuda;
using Astmt.Kernels.Tests.Support;
using NUnit.Framework;

namespace Astmt.Kernels.Tests;

/// <summary>Kernels on a real GPU through the driver, checked against the emulator running the same source. Skipped with the
/// reason when no driver or device is present (every machine this project was developed on).</summary>
[TestFixture, Category("Gpu")]
public class GpuTests
{
    private static CudaContext RequireGpu()
    {
        if (!CudaContext.IsAvailable(out var why)) Assert.Ignore($"No CUDA GPU: {why}.");
        if (!NvrtcCompiler.IsAvailable(out var nv)) Assert.Ignore($"NVRTC is not installed: {nv}.");
        return new CudaContext();
    }

    [Test]
    public void ConvolutionOnTheGpuMatchesTheEmulator()
    {
        using var gpu = RequireGpu();
        var rng = new Random(110);
        int B = 2, C = 3, H = 11, W = 9, K = 5, R = 3, S = 3, stride = 2, pad = 1, dil = 2;
        int P = (H + 2 * pad - dil * (R - 1) - 1) / stride + 1, Q = (W + 2 * pad - dil * (S - 1) - 1) / stride + 1;
        var x = Array.ConvertAll(Oracle.Normal(rng, B * C * H * W), v => (float)v);
        var w = Array.ConvertAll(Oracle.Normal(rng, K * C * R * S), v => (float)v);
        float[] Run(GpuContext ctx)
        {
            using var dx = new CudaDeviceVariable<float>(ctx, x);
            using var dw = new CudaDeviceVariable<float>(ctx, w);
            using var dy = new CudaDeviceVariable<float>(ctx, B * K * P * Q);
            var k = new CudaKernel(ctx, "conv2d_fwd") { GridDimensions = new Dim3((uint)((B * P * Q + 15) / 16), (uint)((K + 15) / 16)), BlockDimensions = new Dim3(16, 16) };
            k.Run(dy, dx, dw, null, B, C, H, W, K, R, S, P, Q, stride, pad, dil);
            ctx.Synchronize();
            return dy.ToArray();
        }
        var onGpu = Run(gpu);
        var onEmu = Run(Emu.Context);
        Oracle.Close(Array.ConvertAll(onEmu, v => (double)v), Array.ConvertAll(onGpu, v => (double)v), 1e-4, 1e-4, "GPU vs emulator");
    }

    [Test]
    public void EventsTimeAKernel()
    {
        using var gpu = RequireGpu();
        using var start = new CudaEvent(gpu);
        using var end = new CudaEvent(gpu);
        using var buf = new CudaDeviceVariable<float>(gpu, 1 << 20);
        var k = new CudaKernel(gpu, "fill_f32") { GridDimensions = 256, BlockDimensions = 256 };
        start.Record();
        k.Run(buf, 1.0f, (long)(1 << 20));
        end.Record();
        end.Synchronize();
        Assert.That(end.ElapsedSince(start), Is.GreaterThanOrEqualTo(0));
        Assert.That(buf.ToArray(), Is.All.EqualTo(1.0f));
    }

    [Test]
    public void WithoutADriverTheErrorSaysSo()
    {
        if (CudaContext.IsAvailable(out _)) Assert.Ignore("A driver is present; this checks the message on machines without one.");
        Assert.That(CudaContext.IsAvailable(out var why), Is.False);
        Assert.That(why, Does.Contain("libcuda").Or.Contain("device").Or.Contain("cuInit"));
    }
}
