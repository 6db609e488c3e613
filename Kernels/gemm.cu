// Tiled GEMM: C[M,N] = alpha · op(A) · op(B) + beta · C, row-major.
//
// Layout: A is [M,K] (or [K,M] when transA) with row stride lda, B is [K,N] (or [N,K] when transB) with row stride ldb,
// C is dense [M,N]; all row-major.
// Launch: block 16×16 threads, grid (ceil(N/16), ceil(M/16)). Each thread owns one C element; 16×16 tiles of A and B are
// staged in shared memory (padded to 17 columns so column reads do not bank-conflict), two barriers per K-tile.
// Why: linear layers (SE's FCs, heads) and the reference against which the implicit-GEMM convolutions are judged. A
// register-blocked tile (each thread 4×4 outputs) is the next step for large matrices; this one is the readable baseline.
#include "common.cuh"

#define GEMM_TILE 16

extern "C" __global__ void gemm_tiled(float* C /*[M,N]*/, const float* A /*[M,K] or [K,M]*/, const float* B /*[K,N] or [N,K]*/,
                                      int M, int N, int K, int lda, int ldb, int transA, int transB, float alpha, float beta)
{
    __shared__ float As[GEMM_TILE][GEMM_TILE + 1];
    __shared__ float Bs[GEMM_TILE][GEMM_TILE + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * GEMM_TILE + ty;
    int col = blockIdx.x * GEMM_TILE + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += GEMM_TILE)
    {
        int ka = k0 + tx;
        As[ty][tx] = (row < M && ka < K) ? (transA ? A[(long long)ka * lda + row] : A[(long long)row * lda + ka]) : 0.0f;
        int kb = k0 + ty;
        Bs[ty][tx] = (kb < K && col < N) ? (transB ? B[(long long)col * ldb + kb] : B[(long long)kb * ldb + col]) : 0.0f;
        __syncthreads();
#pragma unroll
        for (int k = 0; k < GEMM_TILE; k++) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    if (row < M && col < N)
    {
        long long o = (long long)row * N + col;
        C[o] = alpha * acc + (beta != 0.0f ? beta * C[o] : 0.0f);
    }
}
ASTMT_REGISTER_KERNEL(gemm_tiled)
