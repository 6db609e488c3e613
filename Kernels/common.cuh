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

/// The two block reductions, as tags: astmt_combine says how two partial values merge, astmt_identity what a lane without
/// data contributes. (Free overloads rather than static members, because the emulator's shim spells __device__ as
/// `static inline`.)
struct AstmtSumOp {};
struct AstmtMaxOp {};

__device__ __forceinline__ float astmt_combine(AstmtSumOp, float a, float b) { return a + b; }
__device__ __forceinline__ float astmt_identity(AstmtSumOp) { return 0.0f; }
__device__ __forceinline__ float astmt_combine(AstmtMaxOp, float a, float b) { return fmaxf(a, b); }
__device__ __forceinline__ float astmt_identity(AstmtMaxOp) { return -ASTMT_FLT_MAX; }

/// Reduction over the warp with Op; lane 0 holds the result.
template <typename Op>
__device__ __forceinline__ float astmt_warp_reduce(float v)
{
    for (int offset = 16; offset > 0; offset >>= 1) v = astmt_combine(Op{}, v, __shfl_down_sync(ASTMT_FULL_MASK, v, offset));
    return v;
}

/// Reduction over the block with Op, returned to every thread. `scratch` is a __shared__ float[32]. Every thread of the
/// block must call it.
template <typename Op>
__device__ __forceinline__ float astmt_block_reduce(float v, float* scratch)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = astmt_warp_reduce<Op>(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    int warps = (blockDim.x + 31) >> 5;
    v = lane < warps ? scratch[lane] : astmt_identity(Op{});
    v = astmt_warp_reduce<Op>(v);
    __syncthreads();
    if (threadIdx.x == 0) scratch[0] = v;
    __syncthreads();
    v = scratch[0];
    __syncthreads();
    return v;
}

__device__ __forceinline__ float astmt_warp_sum(float v) { return astmt_warp_reduce<AstmtSumOp>(v); }

__device__ __forceinline__ float astmt_warp_max(float v) { return astmt_warp_reduce<AstmtMaxOp>(v); }

/// Sum over the block, returned to every thread. Same contract as astmt_block_reduce.
__device__ __forceinline__ float astmt_block_sum(float v, float* scratch) { return astmt_block_reduce<AstmtSumOp>(v, scratch); }

/// Max over the block, returned to every thread. Same contract as astmt_block_reduce.
__device__ __forceinline__ float astmt_block_max(float v, float* scratch) { return astmt_block_reduce<AstmtMaxOp>(v, scratch); }

/// Sum of channel c of x [B,C,HW] over the block, returned to every thread; one block per channel. Same contract as
/// astmt_block_reduce.
__device__ __forceinline__ float astmt_channel_block_sum(const float* x, int B, int C, int HW, int c, float* scratch)
{
    int N = B * HW;
    float acc = 0.0f;
    for (int i = threadIdx.x; i < N; i += blockDim.x)
    {
        int b = i / HW, hw = i - b * HW;
        acc += x[((long long)b * C + c) * HW + hw];
    }
    return astmt_block_sum(acc, scratch);
}

__device__ __forceinline__ float astmt_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
