// Max pooling with indices, its backward, and max unpooling (SegNet's decoder) with its backward.
//
// Layout: planes [B·C, H, W]; indices are int64 flat positions h·W + w within the input plane (PyTorch's return_indices).
// Launch: grid-stride, block 256, one thread per output element.
//   maxpool2d_fwd      window kernel×kernel, stride, padding (padding never wins); NaN propagates as in PyTorch.
//   maxpool2d_bwd      dx (zeroed) += dy at the winner, atomically (windows may overlap when stride < kernel).
//   maxunpool2d_fwd    y (zeroed) [B·C, OH, OW]: y[idx] = x.
//   maxunpool2d_bwd    dx = dy[idx].
// Why: SegNet pools 5 times with indices and unpools with them; the index map is what makes its decoder.
#include "common.cuh"

extern "C" __global__ void maxpool2d_fwd(float* y /*[BC,P,Q]*/, long long* idx /*[BC,P,Q]*/, const float* x /*[BC,H,W]*/,
                                         int BC, int H, int W, int P, int Q, int kernel, int stride, int pad)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * P * Q)
    {
        int q = (int)(i % Q);
        int p = (int)((i / Q) % P);
        long long plane = i / ((long long)P * Q);
        const float* xp = x + plane * H * W;
        float best = -ASTMT_FLT_MAX;
        long long bestIdx = -1;
        bool nan = false;
        for (int r = 0; r < kernel && !nan; r++)
        {
            int h = p * stride - pad + r;
            if (h < 0 || h >= H) continue;
            for (int s = 0; s < kernel; s++)
            {
                int w = q * stride - pad + s;
                if (w < 0 || w >= W) continue;
                float v = xp[h * W + w];
                if (v != v) { best = v; bestIdx = (long long)h * W + w; nan = true; break; }
                if (bestIdx < 0 || v > best) { best = v; bestIdx = (long long)h * W + w; }
            }
        }
        y[i] = best;
        idx[i] = bestIdx;
    }
}
ASTMT_REGISTER_KERNEL(maxpool2d_fwd)

extern "C" __global__ void maxpool2d_bwd(float* dx /*[BC,H,W], zeroed*/, const float* dy /*[BC,P,Q]*/, const long long* idx /*[BC,P,Q]*/,
                                         int BC, int HW, int PQ)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * PQ)
    {
        long long plane = i / PQ;
        long long j = idx[i];
        if (j >= 0) atomicAdd(&dx[plane * HW + j], dy[i]);
    }
}
ASTMT_REGISTER_KERNEL(maxpool2d_bwd)

extern "C" __global__ void maxunpool2d_fwd(float* y /*[BC,OH,OW], zeroed*/, const float* x /*[BC,H,W]*/, const long long* idx /*[BC,H,W]*/,
                                           int BC, int inHW, int outHW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * inHW)
    {
        long long plane = i / inHW;
        long long j = idx[i];
        if (j >= 0 && j < outHW) y[plane * outHW + j] = x[i];
    }
}
ASTMT_REGISTER_KERNEL(maxunpool2d_fwd)

extern "C" __global__ void maxunpool2d_bwd(float* dx /*[BC,H,W]*/, const float* dy /*[BC,OH,OW]*/, const long long* idx /*[BC,H,W]*/,
                                           int BC, int inHW, int outHW)
{
    ASTMT_GRID_STRIDE(i, (long long)BC * inHW)
    {
        long long plane = i / inHW;
        long long j = idx[i];
        dx[i] = (j >= 0 && j < outHW) ? dy[plane * outHW + j] : 0.0f;
    }
}
ASTMT_REGISTER_KERNEL(maxunpool2d_bwd)
