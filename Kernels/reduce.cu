// Reductions: sum over an axis group, per-channel sums, and a whole-buffer sum.
//
// Layout: x viewed as [outer, mid, inner] (any contiguous tensor, by grouping its dimensions), y as [outer, inner].
// Launch:
//   reduce_rows       inner = 1: grid outer (capped, grid-stride over rows), block 256; a block-wide tree sum per row.
//   reduce_mid        inner > 1: grid-stride over outer·inner, block 256; each thread walks mid, so neighbouring threads
//                     read neighbouring addresses (coalesced).
//   channel_sum       grid C, block 256: y[c] (+)= Σ_(b,hw) x[b,c,hw] — bias gradients of convolutions.
//   sum_all           grid-stride, block 256: block sums added atomically into y[0] (zeroed by the caller).
//   max_along         grid-stride over outer·inner: max over the middle axis and the index of its first occurrence (NaN wins).
//   one_hot_along     grid-stride over outer·inner: y (zeroed) [outer, size, inner] = 1 at each index.
//   norm_along        grid-stride over outer·inner: √Σ x² over the middle axis.
// Why: Sum/Mean with any kept dims (SumTo), bias and BN gradients, and the losses' scalar results.
#include "common.cuh"

extern "C" __global__ void reduce_rows(float* y /*[outer]*/, const float* x /*[outer, mid]*/, int outer, int mid)
{
    __shared__ float scratch[32];
    for (int row = blockIdx.x; row < outer; row += gridDim.x)
    {
        float acc = 0.0f;
        const float* xr = x + (long long)row * mid;
        for (int i = threadIdx.x; i < mid; i += blockDim.x) acc += xr[i];
        acc = astmt_block_sum(acc, scratch);
        if (threadIdx.x == 0) y[row] = acc;
    }
}
ASTMT_REGISTER_KERNEL(reduce_rows)

extern "C" __global__ void reduce_mid(float* y /*[outer, inner]*/, const float* x /*[outer, mid, inner]*/, int outer, int mid, int inner)
{
    ASTMT_GRID_STRIDE(i, (long long)outer * inner)
    {
        long long o = i / inner, in = i - o * inner;
        const float* xp = x + o * mid * inner + in;
        float acc = 0.0f;
        for (int m = 0; m < mid; m++) acc += xp[(long long)m * inner];
        y[i] = acc;
    }
}
ASTMT_REGISTER_KERNEL(reduce_mid)

extern "C" __global__ void channel_sum(float* y /*[C]*/, const float* x /*[B,C,HW]*/, int B, int C, int HW, int accumulate)
{
    __shared__ float scratch[32];
    int c = blockIdx.x;
    float acc = astmt_channel_block_sum(x, B, C, HW, c, scratch);
    if (threadIdx.x == 0) y[c] = accumulate ? y[c] + acc : acc;
}
ASTMT_REGISTER_KERNEL(channel_sum)

extern "C" __global__ void sum_all(float* y /*[1], zeroed*/, const float* x /*[n]*/, long long n)
{
    __shared__ float scratch[32];
    float acc = 0.0f;
    ASTMT_GRID_STRIDE(i, n) acc += x[i];
    acc = astmt_block_sum(acc, scratch);
    if (threadIdx.x == 0) atomicAdd(y, acc);
}
ASTMT_REGISTER_KERNEL(sum_all)

extern "C" __global__ void max_along(float* values /*[outer, inner] or null*/, long long* indices /*[outer, inner]*/,
                                     const float* x /*[outer, size, inner]*/, int outer, int size, int inner)
{
    ASTMT_GRID_STRIDE(i, (long long)outer * inner)
    {
        long long o = i / inner, in = i - o * inner;
        const float* xp = x + o * size * inner + in;
        float best = xp[0];
        int bi = 0;
        for (int s = 1; s < size && best == best; s++)
        {
            float v = xp[(long long)s * inner];
            if (v > best || v != v) { best = v; bi = s; }
        }
        if (values) values[i] = best;
        indices[i] = bi;
    }
}
ASTMT_REGISTER_KERNEL(max_along)

extern "C" __global__ void one_hot_along(float* y /*[outer, size, inner], zeroed*/, const long long* indices /*[outer, inner]*/,
                                         int outer, int size, int inner)
{
    ASTMT_GRID_STRIDE(i, (long long)outer * inner)
    {
        long long o = i / inner, in = i - o * inner;
        long long k = indices[i];
        if (k >= 0 && k < size) y[(o * size + k) * inner + in] = 1.0f;
    }
}
ASTMT_REGISTER_KERNEL(one_hot_along)

extern "C" __global__ void norm_along(float* y /*[outer, inner]*/, const float* x /*[outer, size, inner]*/, int outer, int size, int inner)
{
    ASTMT_GRID_STRIDE(i, (long long)outer * inner)
    {
        long long o = i / inner, in = i - o * inner;
        const float* xp = x + o * size * inner + in;
        float acc = 0.0f;
        for (int s = 0; s < size; s++) { float v = xp[(long long)s * inner]; acc += v * v; }
        y[i] = sqrtf(acc);
    }
}
ASTMT_REGISTER_KERNEL(norm_along)
