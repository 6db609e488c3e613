// MTAN's attention gate, fused: batch-norm apply → sigmoid → multiply with the shared feature, forward and backward.
//
// Layout: z (the attention branch's last conv output), f (shared-network feature), y, a [B,C,H,W]; per-channel scale and
// shift [C] fold the batch norm: scale = γ·invstd, shift = β − mean·scale (train: batch statistics; eval: running ones).
// Launch: grid-stride, block 256, one thread per element.
//   mtan_gate_fwd  a = σ(z·scale[c] + shift[c]), y = a · f; a is saved for backward.
//   mtan_gate_bwd  df = dy · a; dbn = dy · f · a · (1 − a), the gradient at the batch norm's output, which the batch-norm
//                  backward (bn_bwd_reduce + bn_bwd_dx_train, or channel_affine in eval) carries to z, γ and β.
// Why: each task of MTAN applies this gate at every encoder and decoder stage; unfused it is three elementwise passes
// (BN, sigmoid, multiply) forward and four backward over full-resolution maps. Fused it is one pass each way.
#include "common.cuh"

extern "C" __global__ void mtan_gate_fwd(float* y /*[B,C,H,W]*/, float* a /*[B,C,H,W]*/, const float* z /*[B,C,H,W]*/,
                                         const float* f /*[B,C,H,W]*/, const float* scale /*[C]*/, const float* shift /*[C]*/,
                                         long long n, int C, int HW)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        int c = (int)((i / HW) % C);
        float g = astmt_sigmoid(z[i] * scale[c] + shift[c]);
        a[i] = g;
        y[i] = g * f[i];
    }
}
ASTMT_REGISTER_KERNEL(mtan_gate_fwd)

extern "C" __global__ void mtan_gate_bwd(float* df /*[B,C,H,W]*/, float* dbn /*[B,C,H,W]*/, const float* dy /*[B,C,H,W]*/,
                                         const float* a /*[B,C,H,W]*/, const float* f /*[B,C,H,W]*/, long long n)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        float g = a[i], d = dy[i];
        df[i] = d * g;
        dbn[i] = d * f[i] * g * (1.0f - g);
    }
}
ASTMT_REGISTER_KERNEL(mtan_gate_bwd)
