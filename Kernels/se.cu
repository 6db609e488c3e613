// Squeeze-and-excitation, fused: global average pool → FC → ReLU → FC → sigmoid → channel scale, forward and backward.
//
// Layout: x, y, dy, dx [B,C,H,W]; w1 [Cr,C], b1 [Cr]; w2 [C,Cr], b2 [C]; saved per sample: pooled [B,C], hidden [B,Cr]
// (after ReLU) and s [B,C] (after sigmoid).
// Launch:
//   se_fwd_excite   grid B, block 256, dynamic shared (C + Cr) floats: one block per sample; each warp pools channels
//                   (warp shuffles, no block barrier), then both FCs run from shared memory. One launch instead of five.
//   se_scale        grid-stride, block 256: y = x · s[b,c] (also the ChannelScale op).
//   se_bwd_reduce   grid-stride over (b,c) warps, block 256: ds[b,c] = Σ_hw dy·x.
//   se_bwd_excite   grid B, block 256, dynamic shared (C + Cr) floats: back through sigmoid, FC2, ReLU, FC1; parameter
//                   gradients are accumulated (+=) with atomics across samples; writes dpooled [B,C].
//   se_bwd_dx       grid-stride, block 256: dx = dy · s[b,c] + dpooled[b,c] / (H·W) — the scale and pool paths in one pass.
// Why: SE blocks sit in every residual block of ASTMT's SE-ResNet; unfused, each is five tiny launches over [B,C] plus
// two passes over the feature map. Fused, the feature map is read twice forward (pool, scale) and twice backward.
#include "common.cuh"

extern "C" __global__ void se_fwd_excite(float* s /*[B,C]*/, float* pooled /*[B,C]*/, float* hidden /*[B,Cr]*/,
                                         const float* x /*[B,C,H,W]*/, const float* w1 /*[Cr,C]*/, const float* b1 /*[Cr]*/,
                                         const float* w2 /*[C,Cr]*/, const float* b2 /*[C]*/, int C, int Cr, int HW)
{
    ASTMT_DYNAMIC_SHARED(float, sh);
    float* sp = sh;      // pooled [C]
    float* shid = sh + C; // hidden [Cr]
    int b = blockIdx.x;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    const float* xb = x + (long long)b * C * HW;
    for (int c = warp; c < C; c += warps)
    {
        float acc = 0.0f;
        for (int i = lane; i < HW; i += 32) acc += xb[(long long)c * HW + i];
        acc = astmt_warp_sum(acc);
        if (lane == 0) sp[c] = acc / (float)HW;
    }
    __syncthreads();
    for (int j = threadIdx.x; j < Cr; j += blockDim.x)
    {
        float acc = b1[j];
        for (int c = 0; c < C; c++) acc += w1[(long long)j * C + c] * sp[c];
        acc = fmaxf(acc, 0.0f);
        shid[j] = acc;
        hidden[(long long)b * Cr + j] = acc;
    }
    __syncthreads();
    for (int c = threadIdx.x; c < C; c += blockDim.x)
    {
        float acc = b2[c];
        for (int j = 0; j < Cr; j++) acc += w2[(long long)c * Cr + j] * shid[j];
        s[(long long)b * C + c] = astmt_sigmoid(acc);
        pooled[(long long)b * C + c] = sp[c];
    }
}
ASTMT_REGISTER_KERNEL(se_fwd_excite)

extern "C" __global__ void se_scale(float* y /*[B,C,H,W]*/, const float* x /*[B,C,H,W]*/, const float* s /*[B,C]*/, long long n, int HW)
{
    ASTMT_GRID_STRIDE(i, n) y[i] = x[i] * s[i / HW];
}
ASTMT_REGISTER_KERNEL(se_scale)

extern "C" __global__ void se_bwd_reduce(float* ds /*[B,C]*/, const float* dy /*[B,C,H,W]*/, const float* x /*[B,C,H,W]*/, int BC, int HW)
{
    int lane = threadIdx.x & 31;
    int warpGlobal = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    int warpCount = (gridDim.x * blockDim.x) >> 5;
    for (int bc = warpGlobal; bc < BC; bc += warpCount)
    {
        float acc = 0.0f;
        const float* dyp = dy + (long long)bc * HW;
        const float* xp = x + (long long)bc * HW;
        for (int i = lane; i < HW; i += 32) acc += dyp[i] * xp[i];
        acc = astmt_warp_sum(acc);
        if (lane == 0) ds[bc] = acc;
    }
}
ASTMT_REGISTER_KERNEL(se_bwd_reduce)

extern "C" __global__ void se_bwd_excite(float* dpooled /*[B,C]*/, float* dw1 /*[Cr,C] +=*/, float* db1 /*[Cr] +=*/,
                                         float* dw2 /*[C,Cr] +=*/, float* db2 /*[C] +=*/, const float* ds /*[B,C]*/,
                                         const float* s /*[B,C]*/, const float* pooled /*[B,C]*/, const float* hidden /*[B,Cr]*/,
                                         const float* w1 /*[Cr,C]*/, const float* w2 /*[C,Cr]*/, int C, int Cr)
{
    ASTMT_DYNAMIC_SHARED(float, sh);
    float* dz2 = sh;      // [C]: gradient before the sigmoid
    float* dh = sh + C;   // [Cr]: gradient before the ReLU
    int b = blockIdx.x;
    const float* hb = hidden + (long long)b * Cr;
    const float* pb = pooled + (long long)b * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x)
    {
        float sv = s[(long long)b * C + c];
        float g = ds[(long long)b * C + c] * sv * (1.0f - sv);
        dz2[c] = g;
        atomicAdd(&db2[c], g);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < C * Cr; e += blockDim.x)
    {
        int c = e / Cr, j = e - c * Cr;
        atomicAdd(&dw2[e], dz2[c] * hb[j]);
    }
    for (int j = threadIdx.x; j < Cr; j += blockDim.x)
    {
        float acc = 0.0f;
        for (int c = 0; c < C; c++) acc += w2[(long long)c * Cr + j] * dz2[c];
        float g = hb[j] > 0.0f ? acc : 0.0f;
        dh[j] = g;
        atomicAdd(&db1[j], g);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < Cr * C; e += blockDim.x)
    {
        int j = e / C, c = e - j * C;
        atomicAdd(&dw1[e], dh[j] * pb[c]);
    }
    for (int c = threadIdx.x; c < C; c += blockDim.x)
    {
        float acc = 0.0f;
        for (int j = 0; j < Cr; j++) acc += w1[(long long)j * C + c] * dh[j];
        dpooled[(long long)b * C + c] = acc;
    }
}
ASTMT_REGISTER_KERNEL(se_bwd_excite)

extern "C" __global__ void se_bwd_dx(float* dx /*[B,C,H,W]*/, const float* dy /*[B,C,H,W]*/, const float* s /*[B,C]*/,
                                     const float* dpooled /*[B,C]*/, long long n, int HW)
{
    float inv = 1.0f / (float)HW;
    ASTMT_GRID_STRIDE(i, n)
    {
        long long bc = i / HW;
        dx[i] = dy[i] * s[bc] + dpooled[bc] * inv;
    }
}
ASTMT_REGISTER_KERNEL(se_bwd_dx)
