// Optimizer updates in place: Adam/AdamW and SGD with momentum, weight decay and Nesterov, as PyTorch defines them.
//
// Layout: parameter p, gradient g and state buffers m, v, buf are flat [n]. Launch: grid-stride, block 256.
//   adam_step  g' = g + wd·p (Adam) or p ← p·(1 − lr·wd) (AdamW, decoupled); m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²;
//              p ← p − lr · (m / bc1) / (sqrt(v / bc2) + eps), with bc1 = 1 − β1^t, bc2 = 1 − β2^t from the host.
//   sgd_step   d = g + wd·p; buf = first ? d : μ·buf + (1 − dampening)·d; d = nesterov ? d + μ·buf : buf; p ← p − lr·d.
// Why: one read and one write of each buffer per step; the optimizer never leaves the device.
#include "common.cuh"

extern "C" __global__ void adam_step(float* p /*[n]*/, float* m /*[n]*/, float* v /*[n]*/, const float* g /*[n]*/, long long n,
                                     float lr, float beta1, float beta2, float eps, float weightDecay, float bc1, float bc2, int decoupled)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        float pv = p[i], gv = g[i];
        if (decoupled) pv *= 1.0f - lr * weightDecay;
        else gv += weightDecay * pv;
        float mv = beta1 * m[i] + (1.0f - beta1) * gv;
        float vv = beta2 * v[i] + (1.0f - beta2) * gv * gv;
        m[i] = mv;
        v[i] = vv;
        p[i] = pv - lr * (mv / bc1) / (sqrtf(vv / bc2) + eps);
    }
}
ASTMT_REGISTER_KERNEL(adam_step)

extern "C" __global__ void sgd_step(float* p /*[n]*/, float* buf /*[n] or null when momentum = 0*/, const float* g /*[n]*/, long long n,
                                    float lr, float momentum, float dampening, float weightDecay, int nesterov, int first)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        float d = g[i] + weightDecay * p[i];
        if (momentum != 0.0f)
        {
            float b = first ? d : momentum * buf[i] + (1.0f - dampening) * d;
            buf[i] = b;
            d = nesterov ? d + momentum * b : b;
        }
        p[i] -= lr * d;
    }
}
ASTMT_REGISTER_KERNEL(sgd_step)
