// Conformance kernels for the emulator itself (also compiled by NVRTC, so they are valid CUDA).
//
// What: small kernels whose results are only right if barriers, shared memory, warp shuffles/votes, atomics and early exit
// behave as on a GPU. Layout: 1-D blocks, 1-D grids, flat float/int buffers. Launch shape is given per kernel.
// Why: the kernel tests trust the emulator; these tests are what that trust rests on. conf_missing_barrier is wrong on
// purpose: it shows that the thread schedules expose a missing __syncthreads().
#include "common.cuh"

/// out[block, t] = t+1 of the neighbour thread, read through shared memory after a barrier. Block ≤ 256 threads.
extern "C" __global__ void conf_barrier_shared(int* out /*[grid, block]*/)
{
    __shared__ int s[256];
    int t = threadIdx.x, n = blockDim.x;
    s[t] = t + 1 + 1000 * (int)blockIdx.x;
    __syncthreads();
    out[blockIdx.x * n + t] = s[(t + 1) % n];
}
ASTMT_REGISTER_KERNEL(conf_barrier_shared)

/// Same as conf_barrier_shared without the barrier: a race that a schedule must expose.
extern "C" __global__ void conf_missing_barrier(int* out /*[grid, block]*/)
{
    __shared__ int s[256];
    int t = threadIdx.x, n = blockDim.x;
    s[t] = -1;
    s[t] = t + 1 + 1000 * (int)blockIdx.x;
    out[blockIdx.x * n + t] = s[(t + 1) % n];
}
ASTMT_REGISTER_KERNEL(conf_missing_barrier)

/// out[block] = sum of in over the block's slice, with warp shuffles and shared memory.
extern "C" __global__ void conf_block_sum(float* out /*[grid]*/, const float* in /*[grid, block]*/)
{
    __shared__ float scratch[32];
    float v = in[blockIdx.x * blockDim.x + threadIdx.x];
    float s = astmt_block_sum(v, scratch);
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}
ASTMT_REGISTER_KERNEL(conf_block_sum)

/// Per lane: shfl_down by 3, shfl_up by 5, shfl_xor 7, shfl from lane 31-lane, shfl with width 8 from lane 2 of the segment.
extern "C" __global__ void conf_shuffles(float* down, float* up, float* xr, float* idx, float* seg8, const float* in /*[n], n = grid·block*/)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int lane = threadIdx.x & 31;
    float v = in[i];
    down[i] = __shfl_down_sync(ASTMT_FULL_MASK, v, 3);
    up[i] = __shfl_up_sync(ASTMT_FULL_MASK, v, 5);
    xr[i] = __shfl_xor_sync(ASTMT_FULL_MASK, v, 7);
    idx[i] = __shfl_sync(ASTMT_FULL_MASK, v, 31 - lane);
    seg8[i] = __shfl_sync(ASTMT_FULL_MASK, v, 2, 8);
}
ASTMT_REGISTER_KERNEL(conf_shuffles)

/// Per warp: ballot of (in > 0), any, all.
extern "C" __global__ void conf_votes(unsigned* ballot, int* any, int* all, const float* in /*[n]*/)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int p = in[i] > 0.0f;
    unsigned b = __ballot_sync(ASTMT_FULL_MASK, p);
    int a = __any_sync(ASTMT_FULL_MASK, p);
    int l = __all_sync(ASTMT_FULL_MASK, p);
    if ((threadIdx.x & 31) == 0) { int w = i >> 5; ballot[w] = b; any[w] = a; all[w] = l; }
}
ASTMT_REGISTER_KERNEL(conf_votes)

/// counter += 1 and sum += in[i] for every i < n, by atomics from every block; max_out = max of (int)in[i].
extern "C" __global__ void conf_atomics(int* counter, float* sum, int* max_out, const float* in /*[n]*/, int n)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        atomicAdd(counter, 1);
        atomicAdd(sum, in[i]);
        atomicMax(max_out, (int)in[i]);
    }
}
ASTMT_REGISTER_KERNEL(conf_atomics)

/// Threads t ≥ live return at once; the rest meet at two barriers and reverse their ids through shared memory.
extern "C" __global__ void conf_early_exit(int* out /*[block]*/, int live)
{
    __shared__ int s[256];
    int t = threadIdx.x;
    if (t >= live) return;
    s[t] = t;
    __syncthreads();
    int v = s[live - 1 - t];
    __syncthreads();
    s[t] = v * 2;
    __syncthreads();
    out[t] = s[t];
}
ASTMT_REGISTER_KERNEL(conf_early_exit)

/// Reverses each block's slice through dynamic shared memory sized at launch (block floats).
extern "C" __global__ void conf_dynamic_shared(float* out /*[n]*/, const float* in /*[n]*/)
{
    ASTMT_DYNAMIC_SHARED(float, buf);
    int t = threadIdx.x, base = blockIdx.x * blockDim.x;
    buf[t] = in[base + t];
    __syncthreads();
    out[base + t] = buf[blockDim.x - 1 - t];
}
ASTMT_REGISTER_KERNEL(conf_dynamic_shared)

/// 2-D blocks: out[y·W + x] = flat thread id, block id and block dims folded into one number.
extern "C" __global__ void conf_indices(int* out /*[gridDim.y·blockDim.y, gridDim.x·blockDim.x]*/)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x;
    int y = blockIdx.y * blockDim.y + threadIdx.y;
    int width = gridDim.x * blockDim.x;
    out[y * width + x] = y * 10000 + x;
}
ASTMT_REGISTER_KERNEL(conf_indices)

/// Lane 0 waits at __syncthreads while lanes 1..31 wait at __syncwarp: a deadlock the emulator must report, not hang on.
extern "C" __global__ void conf_deadlock(int* out)
{
    if ((threadIdx.x & 31) == 0) __syncthreads();
    else __syncwarp();
    out[threadIdx.x] = 1;
}
ASTMT_REGISTER_KERNEL(conf_deadlock)
