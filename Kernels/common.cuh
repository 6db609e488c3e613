// Shared by every kernel family: the bridge between NVRTC and the emulator, and block-level reductions.
//
// Under NVRTC (__CUDACC_RTC__) the registration macro is empty and dynamic shared memory is CUDA's `extern __shared__`.
// Under g++ the emulator's shim supplies both. Every kernel is `extern "C"` so its PTX entry name is its source name.
// Conventions: NCHW; buffer parameters carry a shape comment; outputs come first, then inputs, then sizes and scalars.
// Reductions assume 1-D blocks whose size is a multiple of 32 (all launches here use 128 or 256 threads).
#pragma once
#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
#define ASTMT_REGISTER_KERNEL(name)
#define ASTMT_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#else
#include "emulator/emu_shim.h"
#endif

#define ASTMT_FULL_MASK 0xffffffffu
#define ASTMT_FLT_MAX 3.402823466e+38f

/// Grid-stride loop over [0, n): correct for any grid size, so launches can cap the grid.
#define ASTMT_GRID_STRIDE(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

__device__ __forceinline__ float astmt_warp_sum(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(ASTMT_FULL_MASK, v, offset);
    return v;
}

__device__ __forceinline__ float astmt_warp_max(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_down_sync(ASTMT_FULL_MASK, v, offset));
    return v;
}

/// Sum over the block, returned to every thread. `scratch` is a __shared__ float[32]. Every thread of the block must call it.
__device__ __forceinline__ float astmt_block_sum(float v, float* scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = astmt_warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = lane < warps ? scratch[lane] : 0.0f;
    v = astmt_warp_sum(v);
    __syncthreads();
    if (threadIdx.x == 0) scratch[0] = v;
    __syncthreads();
    v = scratch[0];
    __syncthreads();
    return v;
}

/// Max over the block, returned to every thread. Same contract as astmt_block_sum.
__device__ __forceinline__ float astmt_block_max(float v, float* scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = astmt_warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = lane < warps ? scratch[lane] : -ASTMT_FLT_MAX;
    v = astmt_warp_max(v);
    __syncthreads();
    if (threadIdx.x == 0) scratch[0] = v;
    __syncthreads();
    v = scratch[0];
    __syncthreads();
    return v;
}

__device__ __forceinline__ float astmt_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
