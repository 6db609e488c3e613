// Batch norm over [B,C,H,W] per channel: statistics, running update, forward (optionally fused with ReLU) and backward,
// for training and evaluation; plus the folded per-channel affine that the MTAN gate consumes.
//
// Layout: x, y, dy, dx [B,C,H,W]; per channel [C]: mean, var (biased), invstd, γ (gamma), β (beta), running mean/var.
// Launch:
//   bn_stats           grid C, block 256: one block per channel, two passes (mean, then Σ(x−mean)²) for accuracy.
//   bn_update_running  grid-stride over C: r = (1−momentum)·r + momentum·stat (variance times the unbias factor N/(N−1)).
//   bn_invstd          grid-stride over C: 1/√(var + eps).
//   bn_forward         grid-stride, block 256: y = (x − mean)·invstd·γ + β, then max(·,0) when relu (BN+ReLU in one pass).
//   bn_bwd_reduce      grid C, block 256: Σg (dβ) and Σg·x̂ (dγ) per channel, g = dy masked by y > 0 when y is given.
//   bn_bwd_dx          grid-stride: train dx = γ·invstd·(g − Σg/N − x̂·Σg·x̂/N); eval dx = γ·invstd·g. N = B·H·W.
//   bn_fold            grid-stride over C: scale = γ·invstd, shift = β − mean·scale (invstd from var+eps when var given).
//   channel_affine     grid-stride: y = x·scale[c] + shift[c].
// Why: every conv of both networks is followed by BN (and mostly ReLU); fusing the ReLU and its mask saves a full-map pass
// each way, and the two-pass statistics keep float32 accurate on 288×384 maps.
#include "common.cuh"

extern "C" __global__ void bn_stats(float* mean /*[C]*/, float* var /*[C], biased*/, const float* x /*[B,C,H,W]*/, int B, int C, int HW)
{
    __shared__ float scratch[32];
    int c = blockIdx.x;
    int N = B * HW;
    float m = astmt_channel_block_sum(x, B, C, HW, c, scratch) / (float)N;
    float sq = 0.0f;
    for (int i = threadIdx.x; i < N; i += blockDim.x)
    {
        int b = i / HW, hw = i - b * HW;
        float d = x[((long long)b * C + c) * HW + hw] - m;
        sq += d * d;
    }
    float v = astmt_block_sum(sq, scratch) / (float)N;
    if (threadIdx.x == 0) { mean[c] = m; var[c] = v; }
}
ASTMT_REGISTER_KERNEL(bn_stats)

extern "C" __global__ void bn_update_running(float* running_mean /*[C]*/, float* running_var /*[C]*/, const float* mean /*[C]*/,
                                             const float* var /*[C]*/, int C, float momentum, float unbias)
{
    ASTMT_GRID_STRIDE(c, C)
    {
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * var[c] * unbias;
    }
}
ASTMT_REGISTER_KERNEL(bn_update_running)

extern "C" __global__ void bn_invstd(float* invstd /*[C]*/, const float* var /*[C]*/, float eps, int C)
{
    ASTMT_GRID_STRIDE(c, C) invstd[c] = 1.0f / sqrtf(var[c] + eps);
}
ASTMT_REGISTER_KERNEL(bn_invstd)

extern "C" __global__ void bn_forward(float* y /*[B,C,H,W]*/, const float* x /*[B,C,H,W]*/, const float* mean /*[C]*/, const float* invstd /*[C]*/,
                                      const float* gamma /*[C] or null*/, const float* beta /*[C] or null*/, long long n, int C, int HW, int relu)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        int c = (int)((i / HW) % C);
        float v = (x[i] - mean[c]) * invstd[c] * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
        y[i] = relu ? fmaxf(v, 0.0f) : v;
    }
}
ASTMT_REGISTER_KERNEL(bn_forward)

extern "C" __global__ void bn_bwd_reduce(float* sum_dy_xhat /*[C]*/, float* sum_dy /*[C]*/, const float* dy /*[B,C,H,W]*/,
                                         const float* x /*[B,C,H,W]*/, const float* y /*[B,C,H,W] ReLU output, or null*/,
                                         const float* mean /*[C]*/, const float* invstd /*[C]*/, int B, int C, int HW)
{
    __shared__ float scratch[32];
    int c = blockIdx.x;
    int N = B * HW;
    float m = mean[c], is = invstd[c];
    float sdy = 0.0f, sdyx = 0.0f;
    for (int i = threadIdx.x; i < N; i += blockDim.x)
    {
        int b = i / HW, hw = i - b * HW;
        long long o = ((long long)b * C + c) * HW + hw;
        float g = (y && !(y[o] > 0.0f)) ? 0.0f : dy[o];
        sdy += g;
        sdyx += g * (x[o] - m) * is;
    }
    sdy = astmt_block_sum(sdy, scratch);
    sdyx = astmt_block_sum(sdyx, scratch);
    if (threadIdx.x == 0) { sum_dy_xhat[c] = sdyx; sum_dy[c] = sdy; }
}
ASTMT_REGISTER_KERNEL(bn_bwd_reduce)

extern "C" __global__ void bn_bwd_dx(float* dx /*[B,C,H,W]*/, const float* dy /*[B,C,H,W]*/, const float* x /*[B,C,H,W]*/,
                                     const float* y /*[B,C,H,W] ReLU output, or null*/, const float* mean /*[C]*/, const float* invstd /*[C]*/,
                                     const float* gamma /*[C] or null*/, const float* sum_dy_xhat /*[C]*/, const float* sum_dy /*[C]*/,
                                     long long n, int C, int HW, int N, int training)
{
    float invN = 1.0f / (float)N;
    ASTMT_GRID_STRIDE(i, n)
    {
        int c = (int)((i / HW) % C);
        float is = invstd[c];
        float g = (y && !(y[i] > 0.0f)) ? 0.0f : dy[i];
        float scale = (gamma ? gamma[c] : 1.0f) * is;
        if (training)
        {
            float xhat = (x[i] - mean[c]) * is;
            dx[i] = scale * (g - sum_dy[c] * invN - xhat * sum_dy_xhat[c] * invN);
        }
        else dx[i] = scale * g;
    }
}
ASTMT_REGISTER_KERNEL(bn_bwd_dx)

extern "C" __global__ void bn_fold(float* scale /*[C]*/, float* shift /*[C]*/, const float* mean /*[C]*/, const float* var /*[C] or null*/,
                                   const float* invstd /*[C], used when var is null*/, const float* gamma /*[C] or null*/,
                                   const float* beta /*[C] or null*/, int C, float eps)
{
    ASTMT_GRID_STRIDE(c, C)
    {
        float is = var ? 1.0f / sqrtf(var[c] + eps) : invstd[c];
        float sc = (gamma ? gamma[c] : 1.0f) * is;
        scale[c] = sc;
        shift[c] = (beta ? beta[c] : 0.0f) - mean[c] * sc;
    }
}
ASTMT_REGISTER_KERNEL(bn_fold)

extern "C" __global__ void channel_affine(float* y /*[B,C,H,W]*/, const float* x /*[B,C,H,W]*/, const float* scale /*[C]*/,
                                          const float* shift /*[C] or null*/, long long n, int C, int HW)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        int c = (int)((i / HW) % C);
        y[i] = x[i] * scale[c] + (shift ? shift[c] : 0.0f);
    }
}
ASTMT_REGISTER_KERNEL(channel_affine)
