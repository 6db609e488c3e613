// Resizing (bilinear, nearest) forward and backward, and the block copy behind concatenation and slicing.
//
// Layout: planes [B·C, H, W] → [B·C, OH, OW]. The host passes the source step per axis exactly as PyTorch computes it
// (in/out, or 1/scale_factor when a scale was given), so the kernels need no mode flags beyond align_corners.
// Launch: grid-stride, block 256, one thread per output element.
//   resize_bilinear_fwd   align_corners: src = dst·step (step = (in−1)/(out−1)); else src = max((dst+0.5)·step − 0.5, 0).
//   resize_bilinear_bwd   dx (zeroed) += the four weighted contributions, atomically.
//   resize_nearest_fwd    src = min(floor(dst·step), in−1).
//   resize_nearest_bwd    dx (zeroed) += dy at the source, atomically.
//   copy_blocks           count blocks of length elements: dst[dstOffset + i·dstStride + e] = src[srcOffset + i·srcStride + e].
// Why: DeepLab-v3+ upsamples ASPP output ×4 and logits ×4 bilinearly; MTAN's heads and ASTMT's decoder concatenate
// along channels, which in NCHW is B blocks of C·H·W elements per input.
#include "common.cuh"

__device__ __forceinline__ float astmt_src_coord(int dst, int in, int out, float step, int alignCorners)
{
    if (alignCorners) return step * (float)dst;
    float s = ((float)dst + 0.5f) * step - 0.5f;
    return s < 0.0f ? 0.0f : s;
}

/// The four source taps of output element i (flat over [BC,OH,OW]) and their weights: offsets of the taps within the source
/// plane, the plane's first element, and the fractional distances lh, lw past the top-left tap.
struct ResizeBilinearTaps
{
    long long base;
    int o00, o01, o10, o11;
    float lh, lw;
};

__device__ __forceinline__ ResizeBilinearTaps resize_bilinear_taps(long long i, int H, int W, int OH, int OW, int alignCorners,
                                                                  float stepH, float stepW)
{
    int ow = (int)(i % OW);
    int oh = (int)((i / OW) % OH);
    long long plane = i / ((long long)OH * OW);
    float sh = astmt_src_coord(oh, H, OH, stepH, alignCorners);
    float sw = astmt_src_coord(ow, W, OW, stepW, alignCorners);
    int h0 = min((int)sh, H - 1), w0 = min((int)sw, W - 1);
    int h1 = min(h0 + 1, H - 1), w1 = min(w0 + 1, W - 1);
    ResizeBilinearTaps t;
    t.base = plane * H * W;
    t.o00 = h0 * W + w0; t.o01 = h0 * W + w1; t.o10 = h1 * W + w0; t.o11 = h1 * W + w1;
    t.lh = sh - (float)h0; t.lw = sw - (float)w0;
    return t;
}

/// Flat source index of output element i (flat over [BC,OH,OW]) under nearest resizing.
__device__ __forceinline__ long long resize_nearest_source(long long i, int H, int W, int OH, int OW, float stepH, float stepW)
{
    int ow = (int)(i % OW);
    int oh = (int)((i / OW) % OH);
    long long plane = i / ((long long)OH * OW);
    int h = min((int)floorf((float)oh * stepH), H - 1);
    int w = min((int)floorf((float)ow * stepW), W - 1);
    return plane * H * W + h * W + w;
}

extern "C" __global__ void resize_bilinear_fwd(float* y /*[BC,OH,OW]*/, const float* x /*[BC,H,W]*/, int BC, int H, int W, int OH, int OW,
                                               int alignCorners, float stepH, float stepW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * OH * OW)
    {
        ResizeBilinearTaps t = resize_bilinear_taps(i, H, W, OH, OW, alignCorners, stepH, stepW);
        float lh = t.lh, lw = t.lw;
        const float* xp = x + t.base;
        y[i] = (1.0f - lh) * ((1.0f - lw) * xp[t.o00] + lw * xp[t.o01]) +
               lh * ((1.0f - lw) * xp[t.o10] + lw * xp[t.o11]);
    }
}
ASTMT_REGISTER_KERNEL(resize_bilinear_fwd)

extern "C" __global__ void resize_bilinear_bwd(float* dx /*[BC,H,W], zeroed*/, const float* dy /*[BC,OH,OW]*/, int BC, int H, int W,
                                               int OH, int OW, int alignCorners, float stepH, float stepW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * OH * OW)
    {
        ResizeBilinearTaps t = resize_bilinear_taps(i, H, W, OH, OW, alignCorners, stepH, stepW);
        float lh = t.lh, lw = t.lw;
        float g = dy[i];
        float* dp = dx + t.base;
        atomicAdd(&dp[t.o00], (1.0f - lh) * (1.0f - lw) * g);
        atomicAdd(&dp[t.o01], (1.0f - lh) * lw * g);
        atomicAdd(&dp[t.o10], lh * (1.0f - lw) * g);
        atomicAdd(&dp[t.o11], lh * lw * g);
    }
}
ASTMT_REGISTER_KERNEL(resize_bilinear_bwd)

extern "C" __global__ void resize_nearest_fwd(float* y /*[BC,OH,OW]*/, const float* x /*[BC,H,W]*/, int BC, int H, int W, int OH, int OW,
                                              float stepH, float stepW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * OH * OW)
    {
        y[i] = x[resize_nearest_source(i, H, W, OH, OW, stepH, stepW)];
    }
}
ASTMT_REGISTER_KERNEL(resize_nearest_fwd)

extern "C" __global__ void resize_nearest_bwd(float* dx /*[BC,H,W], zeroed*/, const float* dy /*[BC,OH,OW]*/, int BC, int H, int W, int OH, int OW,
                                              float stepH, float stepW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * OH * OW)
    {
        atomicAdd(&dx[resize_nearest_source(i, H, W, OH, OW, stepH, stepW)], dy[i]);
    }
}
ASTMT_REGISTER_KERNEL(resize_nearest_bwd)

extern "C" __global__ void copy_blocks(float* dst, const float* src, long long srcOffset, long long srcStride, long long dstOffset,
                                       long long dstStride, long long length, long long count)
{
    ASTMT_GRID_STRIDE(i, length * count)
    {
        long long blk = i / length, e = i - blk * length;
        dst[dstOffset + blk * dstStride + e] = src[srcOffset + blk * srcStride + e];
    }
}
ASTMT_REGISTER_KERNEL(copy_blocks)
