// Losses and normalizations over the channel dimension: log-softmax, NLL, BCE with logits, masked L1, L2-normalize.
//
// Layout: NCHW maps [B,C,HW] (softmax: any dense tensor viewed as [outer, size, inner]); targets int64 [B,HW]; masks [B,Cm,HW] with Cm = 1 (broadcast over channels) or C.
// Launch: grid-stride, block 256. Channel-wise kernels give one thread per (b,hw) position looping over C with stride HW,
// so neighbouring threads read neighbouring addresses. Scalar results are block sums added atomically into a small
// accumulator the caller zeroes: acc[0] = Σ loss, acc[1] = count (or Σ mask), acc[2] = number of invalid targets.
//   softmax_axis_fwd               y = exp(x − max)/Σ, or (log) x − max − log Σ exp(x − max).
//   log_softmax_axis_bwd           dx = dy − exp(y)·Σ_c dy.
//   nll_fwd/bwd                    loss = −logp[target]; ignore_index skipped; dlogp (zeroed) at the target = −g·scale.
//   bce_logits_fwd/bwd             max(x,0) − x·t + log1p(exp(−|x|)), weighted; d = (σ(x) − t)·w·g·scale.
//   masked_l1_fwd/bwd              Σ|p − t|·m and Σm; d = sign(p − t)·m·g·scale.
//   l2norm_channels_fwd/bwd        y = x / max(‖x‖, eps); dx = dy/n − x·(Σ dy·x)/n³ when ‖x‖ > eps, else dy/eps.
// Why: the task losses of both models (segmentation, depth, normals, edges, saliency, parts) stay on the device, and the
// scalar reductions cost one atomic per block.
#include "common.cuh"

extern "C" __global__ void softmax_axis_fwd(float* y /*[B,C,HW]*/, const float* x /*[B,C,HW]*/, int B, int C, int HW, int logMode)
{
    ASTMT_GRID_STRIDE(i, (long long)B * HW)
    {
        long long b = i / HW, hw = i - b * HW;
        const float* xp = x + b * C * HW + hw;
        float* yp = y + b * C * HW + hw;
        float m = -ASTMT_FLT_MAX;
        for (int c = 0; c < C; c++) m = fmaxf(m, xp[(long long)c * HW]);
        float s = 0.0f;
        for (int c = 0; c < C; c++) s += expf(xp[(long long)c * HW] - m);
        if (logMode)
        {
            float lse = m + logf(s);
            for (int c = 0; c < C; c++) yp[(long long)c * HW] = xp[(long long)c * HW] - lse;
        }
        else
        {
            float inv = 1.0f / s;
            for (int c = 0; c < C; c++) yp[(long long)c * HW] = expf(xp[(long long)c * HW] - m) * inv;
        }
    }
}
ASTMT_REGISTER_KERNEL(softmax_axis_fwd)

extern "C" __global__ void log_softmax_axis_bwd(float* dx /*[B,C,HW]*/, const float* dy /*[B,C,HW]*/, const float* y /*[B,C,HW]*/,
                                                    int B, int C, int HW)
{
    ASTMT_GRID_STRIDE(i, (long long)B * HW)
    {
        long long b = i / HW, hw = i - b * HW;
        long long base = b * C * HW + hw;
        float s = 0.0f;
        for (int c = 0; c < C; c++) s += dy[base + (long long)c * HW];
        for (int c = 0; c < C; c++)
        {
            long long o = base + (long long)c * HW;
            dx[o] = dy[o] - expf(y[o]) * s;
        }
    }
}
ASTMT_REGISTER_KERNEL(log_softmax_axis_bwd)

extern "C" __global__ void nll_fwd(float* acc /*[3] zeroed*/, float* loss /*[B,HW] or null*/, const float* logp /*[B,C,HW]*/,
                                   const long long* target /*[B,HW]*/, int B, int C, int HW, int ignoreIndex)
{
    __shared__ float scratch[32];
    float sum = 0.0f, count = 0.0f, bad = 0.0f;
    ASTMT_GRID_STRIDE(i, (long long)B * HW)
    {
        long long b = i / HW, hw = i - b * HW;
        long long t = target[i];
        float l = 0.0f;
        if (t != ignoreIndex)
        {
            if (t < 0 || t >= C) bad += 1.0f;
            else { l = -logp[(b * C + t) * HW + hw]; sum += l; count += 1.0f; }
        }
        if (loss) loss[i] = l;
    }
    sum = astmt_block_sum(sum, scratch);
    count = astmt_block_sum(count, scratch);
    bad = astmt_block_sum(bad, scratch);
    if (threadIdx.x == 0) { atomicAdd(&acc[0], sum); atomicAdd(&acc[1], count); atomicAdd(&acc[2], bad); }
}
ASTMT_REGISTER_KERNEL(nll_fwd)

extern "C" __global__ void nll_bwd(float* dlogp /*[B,C,HW], zeroed*/, const float* grad /*[B,HW] or null (then 1)*/,
                                   const long long* target /*[B,HW]*/, float scale, int B, int C, int HW, int ignoreIndex)
{
    ASTMT_GRID_STRIDE(i, (long long)B * HW)
    {
        long long b = i / HW, hw = i - b * HW;
        long long t = target[i];
        if (t == ignoreIndex || t < 0 || t >= C) continue;
        dlogp[(b * C + t) * HW + hw] = -(grad ? grad[i] : 1.0f) * scale;
    }
}
ASTMT_REGISTER_KERNEL(nll_bwd)

extern "C" __global__ void bce_logits_fwd(float* acc /*[1] zeroed*/, float* loss /*[n] or null*/, const float* x /*[n]*/,
                                          const float* t /*[n]*/, const float* w /*[n] or null*/, long long n)
{
    __shared__ float scratch[32];
    float sum = 0.0f;
    ASTMT_GRID_STRIDE(i, n)
    {
        float v = x[i];
        float l = fmaxf(v, 0.0f) - v * t[i] + log1pf(expf(-fabsf(v)));
        if (w) l *= w[i];
        if (loss) loss[i] = l;
        sum += l;
    }
    sum = astmt_block_sum(sum, scratch);
    if (threadIdx.x == 0) atomicAdd(acc, sum);
}
ASTMT_REGISTER_KERNEL(bce_logits_fwd)

extern "C" __global__ void bce_logits_bwd(float* dx /*[n]*/, const float* grad /*[n] or null*/, const float* x /*[n]*/,
                                          const float* t /*[n]*/, const float* w /*[n] or null*/, float scale, long long n)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        float d = astmt_sigmoid(x[i]) - t[i];
        if (w) d *= w[i];
        dx[i] = d * (grad ? grad[i] : 1.0f) * scale;
    }
}
ASTMT_REGISTER_KERNEL(bce_logits_bwd)

__device__ __forceinline__ long long astmt_mask_index(long long i, int C, int HW, int maskC)
{
    if (maskC == C) return i;
    long long b = i / ((long long)C * HW), hw = i % HW;
    return b * HW + hw;
}

extern "C" __global__ void masked_l1_fwd(float* acc /*[2] zeroed*/, const float* p /*[B,C,HW]*/, const float* t /*[B,C,HW]*/,
                                         const float* m /*[B,maskC,HW]*/, int B, int C, int HW, int maskC)
{
    __shared__ float scratch[32];
    float sum = 0.0f, msum = 0.0f;
    ASTMT_GRID_STRIDE(i, (long long)B * C * HW)
    {
        float mv = m[astmt_mask_index(i, C, HW, maskC)];
        sum += fabsf(p[i] - t[i]) * mv;
        msum += mv;
    }
    sum = astmt_block_sum(sum, scratch);
    msum = astmt_block_sum(msum, scratch);
    if (threadIdx.x == 0) { atomicAdd(&acc[0], sum); atomicAdd(&acc[1], msum); }
}
ASTMT_REGISTER_KERNEL(masked_l1_fwd)

extern "C" __global__ void masked_l1_bwd(float* dp /*[B,C,HW]*/, const float* p /*[B,C,HW]*/, const float* t /*[B,C,HW]*/,
                                         const float* m /*[B,maskC,HW]*/, float scale, int B, int C, int HW, int maskC)
{
    ASTMT_GRID_STRIDE(i, (long long)B * C * HW)
    {
        float d = p[i] - t[i];
        float sg = d > 0.0f ? 1.0f : (d < 0.0f ? -1.0f : 0.0f);
        dp[i] = sg * m[astmt_mask_index(i, C, HW, maskC)] * scale;
    }
}
ASTMT_REGISTER_KERNEL(masked_l1_bwd)

extern "C" __global__ void l2norm_channels_fwd(float* y /*[B,C,HW]*/, float* norm /*[B,HW]*/, const float* x /*[B,C,HW]*/,
                                               int B, int C, int HW, float eps)
{
    ASTMT_GRID_STRIDE(i, (long long)B * HW)
    {
        long long b = i / HW, hw = i - b * HW;
        long long base = b * C * HW + hw;
        float s = 0.0f;
        for (int c = 0; c < C; c++) { float v = x[base + (long long)c * HW]; s += v * v; }
        float nrm = sqrtf(s);
        norm[i] = nrm;
        float inv = 1.0f / fmaxf(nrm, eps);
        for (int c = 0; c < C; c++) y[base + (long long)c * HW] = x[base + (long long)c * HW] * inv;
    }
}
ASTMT_REGISTER_KERNEL(l2norm_channels_fwd)

extern "C" __global__ void l2norm_channels_bwd(float* dx /*[B,C,HW]*/, const float* dy /*[B,C,HW]*/, const float* x /*[B,C,HW]*/,
                                               const float* norm /*[B,HW]*/, int B, int C, int HW, float eps)
{
    ASTMT_GRID_STRIDE(i, (long long)B * HW)
    {
        long long b = i / HW, hw = i - b * HW;
        long long base = b * C * HW + hw;
        float nrm = norm[i];
        if (nrm <= eps)
        {
            for (int c = 0; c < C; c++) dx[base + (long long)c * HW] = dy[base + (long long)c * HW] / eps;
            continue;
        }
        float dot = 0.0f;
        for (int c = 0; c < C; c++) dot += dy[base + (long long)c * HW] * x[base + (long long)c * HW];
        float inv = 1.0f / nrm, inv3 = inv * inv * inv;
        for (int c = 0; c < C; c++)
        {
            long long o = base + (long long)c * HW;
            dx[o] = dy[o] * inv - x[o] * dot * inv3;
        }
    }
}
ASTMT_REGISTER_KERNEL(l2norm_channels_bwd)
