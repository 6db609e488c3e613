// 2-D convolution (cross-correlation) as implicit GEMM: forward, backward-data and backward-weight.
//
// Layout: x [B,C,H,W], w [K,C,R,S], y [B,K,P,Q] with P = (H + 2·pad − dil·(R−1) − 1)/stride + 1 (Q likewise).
// Each pass is a GEMM whose operand tiles are gathered on the fly (no im2col buffer in global memory):
//   forward        y[k, (b,p,q)]  = Σ_(c,r,s) w[k,(c,r,s)] · x[(c,r,s),(b,p,q)]      M=K, N=B·P·Q, K=C·R·S
//   backward-data  dx[c,(b,h,w)]  = Σ_(k,r,s) w[(k,r,s),c] · dy[(k,r,s),(b,h,w)]    M=C, N=B·H·W, K=K·R·S
//   backward-weight dw[k,(c,r,s)] = Σ_(b,p,q) dy[k,(b,p,q)] · x[(b,p,q),(c,r,s)]   M=K, N=C·R·S, K=B·P·Q (split over grid.z)
// Launch: block 16×16, grid (ceil(N/16), ceil(M/16), splits). Tiles of 16×16 in shared memory, padded to avoid bank
// conflicts; the gather computes padding, stride and dilation per element, so every shape is legal.
// Why: the convolutions are most of both networks' FLOPs; implicit GEMM keeps memory at the size of the tensors.
// backward-weight reduces over B·P·Q (2·288·384 for MTAN): with splits > 1 each z-slice adds its partial sum atomically
// into a zeroed dw, so the GPU has enough blocks.
#include "common.cuh"

#define CONV_TILE 16

/// x[b, c, p·stride − pad + r·dil, q·stride − pad + s·dil], or 0 where the tap falls in the padding: the implicit im2col
/// element that the forward and backward-weight passes gather.
__device__ __forceinline__ float conv_input_tap(const float* x, int b, int c, int p, int q, int r, int s, int C, int H, int W,
                                                int stride, int pad, int dil)
{
    int h = p * stride - pad + r * dil, ww = q * stride - pad + s * dil;
    return (h >= 0 && h < H && ww >= 0 && ww < W) ? x[(((long long)b * C + c) * H + h) * W + ww] : 0.0f;
}

/// acc plus row ty of tile a times column tx of tile b, added in order: one 16-deep step of every pass.
__device__ __forceinline__ float conv_tile_dot(float acc, const float (*a)[CONV_TILE + 1], const float (*b)[CONV_TILE + 1], int ty, int tx)
{
#pragma unroll
    for (int j = 0; j < CONV_TILE; j++) acc += a[ty][j] * b[j][tx];
    return acc;
}

extern "C" __global__ void conv2d_fwd(float* y /*[B,K,P,Q]*/, const float* x /*[B,C,H,W]*/, const float* w /*[K,C,R,S]*/,
                                      const float* bias /*[K] or null*/, int B, int C, int H, int W, int K, int R, int S,
                                      int P, int Q, int stride, int pad, int dil)
{
    __shared__ float Ws[CONV_TILE][CONV_TILE + 1];
    __shared__ float Xs[CONV_TILE][CONV_TILE + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int k = blockIdx.y * CONV_TILE + ty;
    int n = blockIdx.x * CONV_TILE + tx;
    int PQ = P * Q, NPQ = B * PQ, RS = R * S, CRS = C * RS;
    int nb = n / PQ, npq = n - nb * PQ, np = npq / Q, nq = npq - np * Q;
    float acc = 0.0f;
    for (int k0 = 0; k0 < CRS; k0 += CONV_TILE)
    {
        int crs = k0 + tx;
        Ws[ty][tx] = (k < K && crs < CRS) ? w[(long long)k * CRS + crs] : 0.0f;
        int crs2 = k0 + ty;
        float v = 0.0f;
        if (n < NPQ && crs2 < CRS)
        {
            int c = crs2 / RS, rs = crs2 - c * RS, r = rs / S, s = rs - r * S;
            v = conv_input_tap(x, nb, c, np, nq, r, s, C, H, W, stride, pad, dil);
        }
        Xs[ty][tx] = v;
        __syncthreads();
        acc = conv_tile_dot(acc, Ws, Xs, ty, tx);
        __syncthreads();
    }
    if (k < K && n < NPQ) y[(((long long)nb * K + k) * P + np) * Q + nq] = acc + (bias ? bias[k] : 0.0f);
}
ASTMT_REGISTER_KERNEL(conv2d_fwd)

extern "C" __global__ void conv2d_bwd_data(float* dx /*[B,C,H,W]*/, const float* dy /*[B,K,P,Q]*/, const float* w /*[K,C,R,S]*/,
                                           int B, int C, int H, int W, int K, int R, int S, int P, int Q, int stride, int pad, int dil)
{
    __shared__ float Ws[CONV_TILE][CONV_TILE + 1];
    __shared__ float Ds[CONV_TILE][CONV_TILE + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int c = blockIdx.y * CONV_TILE + ty;
    int m = blockIdx.x * CONV_TILE + tx;
    int HW = H * W, NHW = B * HW, RS = R * S, KRS = K * RS;
    int mb = m / HW, mhw = m - mb * HW, mh = mhw / W, mw = mhw - mh * W;
    float acc = 0.0f;
    for (int k0 = 0; k0 < KRS; k0 += CONV_TILE)
    {
        int j = k0 + tx;
        float wv = 0.0f;
        if (c < C && j < KRS)
        {
            int kk = j / RS, rs = j - kk * RS;
            wv = w[((long long)kk * C + c) * RS + rs];
        }
        Ws[ty][tx] = wv;
        int j2 = k0 + ty;
        float v = 0.0f;
        if (m < NHW && j2 < KRS)
        {
            int kk = j2 / RS, rs = j2 - kk * RS, r = rs / S, s = rs - r * S;
            int hp = mh + pad - r * dil, wp = mw + pad - s * dil;
            if (hp >= 0 && wp >= 0 && hp % stride == 0 && wp % stride == 0)
            {
                int p = hp / stride, q = wp / stride;
                if (p < P && q < Q) v = dy[(((long long)mb * K + kk) * P + p) * Q + q];
            }
        }
        Ds[ty][tx] = v;
        __syncthreads();
        acc = conv_tile_dot(acc, Ws, Ds, ty, tx);
        __syncthreads();
    }
    if (c < C && m < NHW) dx[(((long long)mb * C + c) * H + mh) * W + mw] = acc;
}
ASTMT_REGISTER_KERNEL(conv2d_bwd_data)

extern "C" __global__ void conv2d_bwd_weight(float* dw /*[K,C,R,S]; zeroed when gridDim.z > 1*/, const float* dy /*[B,K,P,Q]*/,
                                             const float* x /*[B,C,H,W]*/, int B, int C, int H, int W, int K, int R, int S,
                                             int P, int Q, int stride, int pad, int dil)
{
    __shared__ float Ds[CONV_TILE][CONV_TILE + 1];
    __shared__ float Xs[CONV_TILE][CONV_TILE + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int k = blockIdx.y * CONV_TILE + ty;
    int j = blockIdx.x * CONV_TILE + tx;
    int PQ = P * Q, NPQ = B * PQ, RS = R * S, CRS = C * RS;
    int jc = j / RS, jrs = j - jc * RS, jr = jrs / S, js = jrs - jr * S;
    // This z-slice reduces over [begin, end) of the B·P·Q positions, in whole tiles.
    int tiles = (NPQ + CONV_TILE - 1) / CONV_TILE;
    int perSplit = (tiles + gridDim.z - 1) / gridDim.z;
    int begin = blockIdx.z * perSplit * CONV_TILE;
    int end = min(NPQ, begin + perSplit * CONV_TILE);
    float acc = 0.0f;
    for (int n0 = begin; n0 < end; n0 += CONV_TILE)
    {
        int n = n0 + tx;
        float dv = 0.0f;
        if (k < K && n < end)
        {
            int b = n / PQ, pq = n - b * PQ;
            dv = dy[((long long)b * K + k) * PQ + pq];
        }
        Ds[ty][tx] = dv;
        int n2 = n0 + ty;
        float xv = 0.0f;
        if (j < CRS && n2 < end)
        {
            int b = n2 / PQ, pq = n2 - b * PQ, p = pq / Q, q = pq - p * Q;
            xv = conv_input_tap(x, b, jc, p, q, jr, js, C, H, W, stride, pad, dil);
        }
        Xs[ty][tx] = xv;
        __syncthreads();
        acc = conv_tile_dot(acc, Ds, Xs, ty, tx);
        __syncthreads();
    }
    if (k < K && j < CRS)
    {
        if (gridDim.z > 1) atomicAdd(&dw[(long long)k * CRS + j], acc);
        else dw[(long long)k * CRS + j] = acc;
    }
}
ASTMT_REGISTER_KERNEL(conv2d_bwd_weight)
