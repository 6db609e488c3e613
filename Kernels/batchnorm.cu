// Batch norm over [B,C,H,W] per channel: statistics, folded apply, and backward, for training and evaluation.
//
// Layout: x, y, dy, dx [B,C,H,W]; per channel [C]: mean, invstd, γ (gamma), β (beta), running mean/var, scale, shift.
// Launch:
//   bn_stats         grid C, block 256: one block per channel, two passes (mean, then Σ(x−mean)²) for accuracy; biased
//                    variance normalizes, unbiased variance updates the running statistics with momentum (as PyTorch).
//   bn_fold          grid-stride over C: scale = γ·invstd, shift = β − mean·scale; invstd from var+eps when var is given.
//   channel_affine   grid-stride, block 256: y = x·scale[c] + shift[c] — the apply step in both modes, and the eval backward.
//   bn_bwd_reduce    grid C, block 256: Σdy (dβ) and Σdy·x̂ (dγ) per channel.
//   bn_bwd_dx_train  grid-stride: dx = γ·invstd·(dy − Σdy/N − x̂·Σdy·x̂/N), N = B·H·W.
// Why: the apply and its backward are full-map passes; folding γ, β and the statistics into one scale and shift per
// channel makes the apply a single multiply-add and lets the MTAN gate consume the same scale and shift.
#include "common.cuh"

extern "C" __global__ void bn_stats(float* mean /*[C]*/, float* invstd /*[C]*/, float* running_mean /*[C] or null*/,
                                    float* running_var /*[C] or null*/, const float* x /*[B,C,H,W]*/, int B, int C, int HW,
                                    float eps, float momentum)
{
    __shared__ float scratch[32];
    int c = blockIdx.x;
    int N = B * HW;
    float acc = 0.0f;
    for (int i = threadIdx.x; i < N; i += blockDim.x)
    {
        int b = i / HW, hw = i - b * HW;
        acc += x[((long long)b * C + c) * HW + hw];
    }
    float m = astmt_block_sum(acc, scratch) / (float)N;
    float sq = 0.0f;
    for (int i = threadIdx.x; i < N; i += blockDim.x)
    {
        int b = i / HW, hw = i - b * HW;
        float d = x[((long long)b * C + c) * HW + hw] - m;
        sq += d * d;
    }
    float var = astmt_block_sum(sq, scratch) / (float)N;
    if (threadIdx.x == 0)
    {
        mean[c] = m;
        invstd[c] = rsqrtf(var + eps);
        if (running_mean) running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * m;
        if (running_var)
        {
            float unbiased = N > 1 ? var * (float)N / (float)(N - 1) : var;
            running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased;
        }
    }
}
ASTMT_REGISTER_KERNEL(bn_stats)

extern "C" __global__ void bn_fold(float* scale /*[C]*/, float* shift /*[C]*/, const float* mean /*[C]*/, const float* var /*[C] or null*/,
                                   const float* invstd /*[C], used when var is null*/, const float* gamma /*[C] or null*/,
                                   const float* beta /*[C] or null*/, int C, float eps)
{
    ASTMT_GRID_STRIDE(c, C)
    {
        float is = var ? rsqrtf(var[c] + eps) : invstd[c];
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

extern "C" __global__ void bn_bwd_reduce(float* dgamma /*[C]: Σdy·x̂*/, float* dbeta /*[C]: Σdy*/, const float* dy /*[B,C,H,W]*/,
                                         const float* x /*[B,C,H,W]*/, const float* mean /*[C]*/, const float* invstd /*[C]*/,
                                         int B, int C, int HW)
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
        float d = dy[o];
        sdy += d;
        sdyx += d * (x[o] - m) * is;
    }
    sdy = astmt_block_sum(sdy, scratch);
    sdyx = astmt_block_sum(sdyx, scratch);
    if (threadIdx.x == 0) { dgamma[c] = sdyx; dbeta[c] = sdy; }
}
ASTMT_REGISTER_KERNEL(bn_bwd_reduce)

extern "C" __global__ void bn_bwd_dx_train(float* dx /*[B,C,H,W]*/, const float* dy /*[B,C,H,W]*/, const float* x /*[B,C,H,W]*/,
                                           const float* mean /*[C]*/, const float* invstd /*[C]*/, const float* gamma /*[C] or null*/,
                                           const float* sum_dy_xhat /*[C]*/, const float* sum_dy /*[C]*/, long long n, int C, int HW, int N)
{
    float invN = 1.0f / (float)N;
    ASTMT_GRID_STRIDE(i, n)
    {
        int c = (int)((i / HW) % C);
        float is = invstd[c];
        float xhat = (x[i] - mean[c]) * is;
        float g = gamma ? gamma[c] : 1.0f;
        dx[i] = g * is * (dy[i] - sum_dy[c] * invN - xhat * sum_dy_xhat[c] * invN);
    }
}
ASTMT_REGISTER_KERNEL(bn_bwd_dx_train)
