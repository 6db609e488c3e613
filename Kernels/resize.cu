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

extern "C" __global__ void resize_bilinear_fwd(float* y /*[BC,OH,OW]*/, const float* x /*[BC,H,W]*/, int BC, int H, int W, int OH, int OW,
                                               int alignCorners, float stepH, float stepW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * OH * OW)
    {
        int ow = (int)(i % OW);
        int oh = (int)((i / OW) % OH);
        long long plane = i / ((long long)OH * OW);
        float sh = astmt_src_coord(oh, H, OH, stepH, alignCorners);
        float sw = astmt_src_coord(ow, W, OW, stepW, alignCorners);
        int h0 = min((int)sh, H - 1), w0 = min((int)sw, W - 1);
        int h1 = min(h0 + 1, H - 1), w1 = min(w0 + 1, W - 1);
        float lh = sh - (float)h0, lw = sw - (float)w0;
        const float* xp = x + plane * H * W;
        y[i] = (1.0f - lh) * ((1.0f - lw) * xp[h0 * W + w0] + lw * xp[h0 * W + w1]) +
               lh * ((1.0f - lw) * xp[h1 * W + w0] + lw * xp[h1 * W + w1]);
    }
}
ASTMT_REGISTER_KERNEL(resize_bilinear_fwd)

extern "C" __global__ void resize_bilinear_bwd(float* dx /*[BC,H,W], zeroed*/, const float* dy /*[BC,OH,OW]*/, int BC, int H, int W,
                                               int OH, int OW, int alignCorners, float stepH, float stepW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * OH * OW)
    {
        int ow = (int)(i % OW);
        int oh = (int)((i / OW) % OH);
        long long plane = i / ((long long)OH * OW);
        float sh = astmt_src_coord(oh, H, OH, stepH, alignCorners);
        float sw = astmt_src_coord(ow, W, OW, stepW, alignCorners);
        int h0 = min((int)sh, H - 1), w0 = min((int)sw, W - 1);
        int h1 = min(h0 + 1, H - 1), w1 = min(w0 + 1, W - 1);
        float lh = sh - (float)h0, lw = sw - (float)w0;
        float g = dy[i];
        float* dp = dx + plane * H * W;
        atomicAdd(&dp[h0 * W + w0], (1.0f - lh) * (1.0f - lw) * g);
        atomicAdd(&dp[h0 * W + w1], (1.0f - lh) * lw * g);
        atomicAdd(&dp[h1 * W + w0], lh * (1.0f - lw) * g);
        atomicAdd(&dp[h1 * W + w1], lh * lw * g);
    }
}
ASTMT_REGISTER_KERNEL(resize_bilinear_bwd)

extern "C" __global__ void resize_nearest_fwd(float* y /*[BC,OH,OW]*/, const float* x /*[BC,H,W]*/, int BC, int H, int W, int OH, int OW,
                                              float stepH, float stepW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * OH * OW)
    {
        int ow = (int)(i % OW);
        int oh = (int)((i / OW) % OH);
        long long plane = i / ((long long)OH * OW);
        int h = min((int)floorf((float)oh * stepH), H - 1);
        int w = min((int)floorf((float)ow * stepW), W - 1);
        y[i] = x[plane * H * W + h * W + w];
    }
}
ASTMT_REGISTER_KERNEL(resize_nearest_fwd)

extern "C" __global__ void resize_nearest_bwd(float* dx /*[BC,H,W], zeroed*/, const float* dy /*[BC,OH,OW]*/, int BC, int H, int W, int OH, int OW,
                                              float stepH, float stepW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * OH * OW)
    {
        int ow = (int)(i % OW);
        int oh = (int)((i / OW) % OH);
        long long plane = i / ((long long)OH * OW);
        int h = min((int)floorf((float)oh * stepH), H - 1);
        int w = min((int)floorf((float)ow * stepW), W - 1);
        atomicAdd(&dx[plane * H * W + h * W + w], dy[i]);
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
