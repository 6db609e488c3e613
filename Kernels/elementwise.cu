// Elementwise ops: fills, affine, in-place adds (float32 tensors, Int64 counters), float32 ↔ Int64 conversion, unary activations and their backward, broadcasting
// binary ops.
//
// Layout: flat float buffers unless noted. Launch: grid-stride, block 256, grid capped by the launcher (the loop covers
// any n). Broadcasting: shapes right-aligned and padded to 6 dimensions; a and b carry their own element strides (0 on
// broadcast dimensions), so strided views need no copy.
// Why: everything between the convolutions is memory-bound; one pass per op, each element read once, written once. The
// conversions keep label maps on the device (ASTMT casts its float ground truth to class indices every step; a host round trip
// would synchronise the stream twice per task).
#include "common.cuh"

extern "C" __global__ void fill_f32(float* y /*[n]*/, float value, long long n)
{
    ASTMT_GRID_STRIDE(i, n) y[i] = value;
}
ASTMT_REGISTER_KERNEL(fill_f32)

extern "C" __global__ void fill_i64(long long* y /*[n]*/, long long value, long long n)
{
    ASTMT_GRID_STRIDE(i, n) y[i] = value;
}
ASTMT_REGISTER_KERNEL(fill_i64)

extern "C" __global__ void affine_f32(float* y /*[n]*/, const float* x /*[n]*/, float scale, float shift, long long n)
{
    ASTMT_GRID_STRIDE(i, n) y[i] = x[i] * scale + shift;
}
ASTMT_REGISTER_KERNEL(affine_f32)

extern "C" __global__ void add_inplace_f32(float* dst /*[n]*/, const float* src /*[n]*/, long long n)
{
    ASTMT_GRID_STRIDE(i, n) dst[i] += src[i];
}
ASTMT_REGISTER_KERNEL(add_inplace_f32)

/// y += value for Int64 counters (batch norm's num_batches_tracked), so training on a device never reads a counter back.
extern "C" __global__ void add_scalar_i64(long long* y /*[n]*/, long long value, long long n)
{
    ASTMT_GRID_STRIDE(i, n) y[i] += value;
}
ASTMT_REGISTER_KERNEL(add_scalar_i64)

/// y = (long long)x, truncating toward zero as C#'s (long) cast on the host does: float labels → Int64 class indices.
extern "C" __global__ void convert_f32_i64(long long* y /*[n]*/, const float* x /*[n]*/, long long n)
{
    ASTMT_GRID_STRIDE(i, n) y[i] = (long long)x[i];
}
ASTMT_REGISTER_KERNEL(convert_f32_i64)

/// y = (float)x, rounded to nearest: Int64 labels → float maps (masks, nearest resize).
extern "C" __global__ void convert_i64_f32(float* y /*[n]*/, const long long* x /*[n]*/, long long n)
{
    ASTMT_GRID_STRIDE(i, n) y[i] = (float)x[i];
}
ASTMT_REGISTER_KERNEL(convert_i64_f32)

/// op: 0 relu, 1 sigmoid, 2 exp, 3 log, 4 sqrt, 5 abs, 6 square, 7 pow(p), 8 neg, 9 tanh, 10 clamp(p, q), 11 sign,
/// 12 (x != p), 13 (x > p), 14 (p <= x <= q).
extern "C" __global__ void unary_f32(float* y /*[n]*/, const float* x /*[n]*/, int op, float p, float q, long long n)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        float v = x[i], r;
        switch (op)
        {
        case 0: r = fmaxf(v, 0.0f); break;
        case 1: r = astmt_sigmoid(v); break;
        case 2: r = expf(v); break;
        case 3: r = logf(v); break;
        case 4: r = sqrtf(v); break;
        case 5: r = fabsf(v); break;
        case 6: r = v * v; break;
        case 7: r = powf(v, p); break;
        case 8: r = -v; break;
        case 9: r = tanhf(v); break;
        case 10: r = fminf(fmaxf(v, p), q); break;
        case 11: r = v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f); break;
        case 12: r = v != p ? 1.0f : 0.0f; break;
        case 13: r = v > p ? 1.0f : 0.0f; break;
        default: r = (v >= p && v <= q) ? 1.0f : 0.0f; break;
        }
        y[i] = r;
    }
}
ASTMT_REGISTER_KERNEL(unary_f32)

/// dx = dy where y > 0 (y is the ReLU output), else 0.
extern "C" __global__ void relu_bwd(float* dx /*[n]*/, const float* dy /*[n]*/, const float* y /*[n]*/, long long n)
{
    ASTMT_GRID_STRIDE(i, n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}
ASTMT_REGISTER_KERNEL(relu_bwd)

/// dx = dy · y · (1 − y) (y is the sigmoid output).
extern "C" __global__ void sigmoid_bwd(float* dx /*[n]*/, const float* dy /*[n]*/, const float* y /*[n]*/, long long n)
{
    ASTMT_GRID_STRIDE(i, n) { float s = y[i]; dx[i] = dy[i] * s * (1.0f - s); }
}
ASTMT_REGISTER_KERNEL(sigmoid_bwd)

/// Output shape and operand strides, right-aligned to 6 dimensions (leading sizes 1).
struct astmt_broadcast6
{
    int size[6];
    int astride[6];
    int bstride[6];
};

/// y = a op b, op: 0 add, 1 sub, 2 mul, 3 div; y is dense with shape `shape.size`.
extern "C" __global__ void binary_broadcast_f32(float* y /*[shape]*/, const float* a, const float* b, int op, astmt_broadcast6 shape, long long n)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        long long rest = i, ao = 0, bo = 0;
        for (int d = 5; d >= 0; d--)
        {
            int sz = shape.size[d];
            int idx = (int)(rest % sz);
            rest /= sz;
            ao += (long long)idx * shape.astride[d];
            bo += (long long)idx * shape.bstride[d];
        }
        float u = a[ao], v = b[bo], r;
        switch (op)
        {
        case 0: r = u + v; break;
        case 1: r = u - v; break;
        case 2: r = u * v; break;
        default: r = u / v; break;
        }
        y[i] = r;
    }
}
ASTMT_REGISTER_KERNEL(binary_broadcast_f32)

/// y (dense, shape `shape.size`) = x read through the element strides `shape.astride`: makes a strided view contiguous.
extern "C" __global__ void gather_strided_f32(float* y, const float* x, astmt_broadcast6 shape, long long n)
{
    ASTMT_GRID_STRIDE(i, n)
    {
        long long rest = i, xo = 0;
        for (int d = 5; d >= 0; d--)
        {
            int sz = shape.size[d];
            xo += (long long)(rest % sz) * shape.astride[d];
            rest /= sz;
        }
        y[i] = x[xo];
    }
}
ASTMT_REGISTER_KERNEL(gather_strided_f32)
