// Gradient reversal fused into gradient accumulation.
//
// Layout: flat float buffers of n elements. Launch: grid-stride, block 256.
//   grad_reverse_accumulate  acc = (accumulate ? acc : 0) − λ · g
// Why: ASTMT's adversarial discriminator sees features through a gradient-reversal layer whose backward is −λ·g. Applying
// that scale while adding into the feature's gradient buffer costs nothing extra: no separate negation pass, no temporary.
#include "common.cuh"

extern "C" __global__ void grad_reverse_accumulate(float* acc /*[n]*/, const float* g /*[n]*/, float lambda, long long n, int accumulate)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        float r = -lambda * g[i];
        acc[i] = accumulate ? acc[i] + r : r;
    }
}
ASTMT_REGISTER_KERNEL(grad_reverse_accumulate)
