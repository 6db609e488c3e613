using Astmt.Engine.Cpu;
using Astmt.Engine.Memory;

namespace Astmt.Engine.Ops;

/// <summary>
/// Float32 convolution forward, backward-weight and (stride 1) backward-data as implicit GEMMs (<see cref="Gemm.SgemmIm2Col"/>): the im2col matrix is
/// packed panel by panel straight from the image, so it is never written out. Small feature maps (fewer than
/// <see cref="Conv2dKernels.MinBandColumns"/> output positions) put several images side by side in one GEMM, so that the
/// weights are packed once for the group and the panels are wide enough to keep the microkernel busy; the product then goes
/// through a small pooled buffer laid out [K, images·P·Q].
/// </summary>
internal static class Conv2dImplicit
{
    /// <summary>y [B,K,P,Q] = w [K, C·R·S] · col(x) per image (no bias).</summary>
    public static void Forward(in Conv2dGeometry g, float[] x, int xOff, ReadOnlySpan<float> weights, float[] y, int yOff)
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, pq = g.ColCols;
        var view = View(g, 1);
        int group = ImagesPerGemm(g);
        if (group == 1)
        {
            for (int b = 0; b < g.B; b++)
                Gemm.SgemmIm2Col(Transpose.No, g.K, weights, g.ColRows, x.AsSpan(xOff + b * inPlane, inPlane), view, colTransposed: false, 0f,
                    y.AsSpan(yOff + b * outPlane, outPlane), pq);
            return;
        }
        var product = BufferPool.Rent<float>(g.K * group * pq, clear: false);
        try
        {
            for (int b0 = 0; b0 < g.B; b0 += group)
            {
                int images = Math.Min(group, g.B - b0), n = images * pq;
                view.Images = images;
                // product [K, images·P·Q] = w · [col(x_b0) … col(x_b0+images−1)]
                Gemm.SgemmIm2Col(Transpose.No, g.K, weights, g.ColRows, x.AsSpan(xOff + b0 * inPlane, images * inPlane), view, colTransposed: false, 0f,
                    product.AsSpan(0, g.K * n), n);
                ScatterImages(product, images, g.K, pq, y, yOff, outPlane, b0);
            }
        }
        finally
        {
            BufferPool.Return(product);
        }
    }

    /// <summary>gw [K, C·R·S] = Σ_b gy_b [K, P·Q] · col(x_b)ᵀ (overwrites gw); images are summed in order.</summary>
    public static void BackwardWeight(in Conv2dGeometry g, float[] x, int xOff, float[] gy, int gyOff, Span<float> gw)
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, pq = g.ColCols;
        var view = View(g, 1);
        int group = ImagesPerGemm(g);
        if (group == 1)
        {
            for (int b = 0; b < g.B; b++)
                Gemm.SgemmIm2Col(Transpose.No, g.K, gy.AsSpan(gyOff + b * outPlane, outPlane), pq, x.AsSpan(xOff + b * inPlane, inPlane), view,
                    colTransposed: true, b == 0 ? 0f : 1f, gw, g.ColRows);
            return;
        }
        var gradients = BufferPool.Rent<float>(g.K * group * pq, clear: false);
        try
        {
            for (int b0 = 0; b0 < g.B; b0 += group)
            {
                int images = Math.Min(group, g.B - b0), n = images * pq;
                view.Images = images;
                GatherImages(gy, gyOff, outPlane, b0, images, g.K, pq, gradients);
                // gw (+)= [gy_b0 … gy_b0+images−1] [K, images·P·Q] · [col(x_b0) … ]ᵀ
                Gemm.SgemmIm2Col(Transpose.No, g.K, gradients.AsSpan(0, g.K * n), n, x.AsSpan(xOff + b0 * inPlane, images * inPlane), view,
                    colTransposed: true, b0 == 0 ? 0f : 1f, gw, g.ColRows);
            }
        }
        finally
        {
            BufferPool.Return(gradients);
        }
    }

    /// <summary>Whether backward-data can run as a forward convolution of gy with the flipped, transposed weights: stride 1, a
    /// square kernel (one padding for both axes) and padding at most dilation·(R−1).</summary>
    public static bool BackwardDataIsForwardConv(in Conv2dGeometry g) =>
        g.Stride == 1 && g.R == g.S && g.Padding <= g.Dilation * (g.R - 1) && g.C >= MinBackwardDataChannels;

    /// <summary>Fewest input channels for which backward-data runs as a forward convolution: its GEMM has M = C rows, and
    /// a 3-channel image would fill 3 of the microkernel's 8 rows (1.35 → 3.1 ms for a 3→64 layer at 96x128).</summary>
    private const int MinBackwardDataChannels = 16;

    /// <summary>
    /// gx [B,C,H,W] = conv(gy, w') for stride 1 (see <see cref="BackwardDataIsForwardConv"/>): gx[c,h,w] sums
    /// gy[k, h + pad − r·dil, w + pad − s·dil]·w[k,c,r,s], which is a convolution of gy with padding dil·(R−1) − pad and
    /// the weights w'[c,k,r,s] = w[k,c,R−1−r,S−1−s]. No column matrix is written and nothing is folded.
    /// </summary>
    public static void BackwardData(in Conv2dGeometry g, float[] gy, int gyOff, ReadOnlySpan<float> weights, float[] gx, int gxOff)
    {
        int inPlane = g.C * g.H * g.W, outPlane = g.K * g.P * g.Q, hw = g.H * g.W;
        var view = new Im2ColView
        {
            C = g.K, H = g.P, W = g.Q, R = g.R, S = g.S, P = g.H, Q = g.W, Stride = 1, Padding = g.Dilation * (g.R - 1) - g.Padding,
            Dilation = g.Dilation, Images = 1, ImageStride = outPlane,
        };
        int group = ImagesPerGemm(g);
        if (group == 1)
        {
            for (int b = 0; b < g.B; b++)
                Gemm.SgemmIm2ColFlippedWeights(weights, g.K, g.C, gy.AsSpan(gyOff + b * outPlane, outPlane), view, 0f, gx.AsSpan(gxOff + b * inPlane, inPlane), hw);
            return;
        }
        var product = BufferPool.Rent<float>(g.C * group * hw, clear: false);
        try
        {
            for (int b0 = 0; b0 < g.B; b0 += group)
            {
                int images = Math.Min(group, g.B - b0), n = images * hw;
                view.Images = images;
                Gemm.SgemmIm2ColFlippedWeights(weights, g.K, g.C, gy.AsSpan(gyOff + b0 * outPlane, images * outPlane), view, 0f, product.AsSpan(0, g.C * n), n);
                ScatterImages(product, images, g.C, hw, gx, gxOff, inPlane, b0);
            }
        }
        finally
        {
            BufferPool.Return(product);
        }
    }

    /// <summary>How many images share one GEMM: enough that it has <see cref="Conv2dKernels.MinBandColumns"/> columns, at
    /// most the batch; 1 when one image already has that many.</summary>
    public static int ImagesPerGemm(in Conv2dGeometry g)
    {
        int pq = Math.Max(1, g.ColCols);
        if (pq >= Conv2dKernels.MinBandColumns) return 1;
        return Math.Clamp((Conv2dKernels.MinBandColumns + pq - 1) / pq, 1, Math.Max(1, g.B));
    }

    /// <summary>dst [rows, images·cols] = the images [b0, b0 + images) of src [B, rows, cols] side by side.</summary>
    public static void GatherImages<T>(T[] src, int srcOff, int imageStride, int b0, int images, int rows, int cols, T[] dst)
    {
        int n = images * cols;
        for (int i = 0; i < images; i++)
        for (int r = 0; r < rows; r++)
            src.AsSpan(srcOff + (b0 + i) * imageStride + r * cols, cols).CopyTo(dst.AsSpan(r * n + i * cols, cols));
    }

    /// <summary>The images [b0, b0 + images) of dst [B, rows, cols] = src [rows, images·cols] cut apart (the inverse of
    /// <see cref="GatherImages{T}"/>).</summary>
    private static void ScatterImages(float[] src, int images, int rows, int cols, float[] dst, int dstOff, int imageStride, int b0)
    {
        int n = images * cols;
        for (int i = 0; i < images; i++)
        for (int r = 0; r < rows; r++)
            src.AsSpan(r * n + i * cols, cols).CopyTo(dst.AsSpan(dstOff + (b0 + i) * imageStride + r * cols, cols));
    }

    private static Im2ColView View(in Conv2dGeometry g, int images) => new()
    {
        C = g.C, H = g.H, W = g.W, R = g.R, S = g.S, P = g.P, Q = g.Q, Stride = g.Stride, Padding = g.Padding, Dilation = g.Dilation,
        Images = images, ImageStride = g.C * g.H * g.W,
    };
}
