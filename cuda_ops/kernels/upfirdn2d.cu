// upfirdn2d forward: one block per output tile of one plane, input staged in shared memory.
// Shared memory: [filter taps, rounded to 4][buf0: input tile][buf1: x-pass result].
// Every kernel comes in float32 and, with the suffix _f16, for float16 input and output
// (arithmetic in float32 either way; the parameter struct's pointers are reinterpreted).
#include "resample_tile.h"

template <int UP, int DOWN, int TAPS, bool FILTER_2D, class T>
__device__ __forceinline__ void upfirdn2d_tile(const Upfirdn2dParams& p)
{
    extern __shared__ float smem[];
    const int up = UP ? UP : p.up;
    const int down = DOWN ? DOWN : p.down;
    const int taps = FILTER_2D ? p.f_w * p.f_h : p.f_w;
    float* f_s = smem;
    float* buf0 = f_s + round_up4(taps);
    float* buf1 = buf0 + p.buf0_floats;
    load_filter(f_s, p.f, taps, p.flip, p.filter_scale);

    const int ox0 = blockIdx.x * p.tile_out_w;
    const int oy0 = blockIdx.y * p.tile_out_h;
    const int ix0 = ceil_div(ox0 * down - p.pad_x0, up);
    const int iy0 = ceil_div(oy0 * down - p.pad_y0, up);
    const int valid_w = min(p.tile_out_w, p.out_w - ox0);
    const int valid_h = min(p.tile_out_h, p.out_h - oy0);

    for (int plane = blockIdx.z; plane < p.num_planes; plane += gridDim.z) {
        const T* x = reinterpret_cast<const T*>(p.x) + (size_t)plane * p.in_w * p.in_h;
        T* y = reinterpret_cast<T*>(p.y) + (size_t)plane * p.out_w * p.out_h + (size_t)oy0 * p.out_w + ox0;
        __syncthreads();  // the previous plane is done with the buffers (and the filter is loaded)
        load_tile(buf0, x, p.in_w, p.in_h, ix0, iy0, p.tile_in_w, p.tile_in_h, 0.f);
        __syncthreads();
        if (FILTER_2D) {
            pass_2d<UP, DOWN, TAPS>(buf0, p.tile_in_w, ix0, iy0, y, p.out_w, valid_h, valid_w, ox0, oy0,
                                    up, down, p.f_w, p.f_h, p.pad_x0, p.pad_y0, f_s, Identity());
        } else {
            pass_x<UP, DOWN, TAPS>(buf0, p.tile_in_w, ix0, buf1, p.tile_out_w, p.tile_in_h, p.tile_out_w, ox0,
                                   up, down, p.f_w, p.pad_x0, f_s, Identity());
            __syncthreads();
            pass_y<UP, DOWN, TAPS>(buf1, p.tile_out_w, iy0, y, p.out_w, valid_h, valid_w, oy0,
                                   up, down, p.f_w, p.pad_y0, f_s, Identity());
        }
    }
}

// Kernel names are what cuda_ops/pycuda_kernels.py's specialisation table looks up.
#define EQVIZ_UPFIRDN2D(name, UP, DOWN, TAPS, FILTER_2D)                                    \
    extern "C" __global__ void __launch_bounds__(EQVIZ_BLOCK) name(Upfirdn2dParams p)      \
    {                                                                                      \
        upfirdn2d_tile<UP, DOWN, TAPS, FILTER_2D, float>(p);                               \
    }                                                                                      \
    extern "C" __global__ void __launch_bounds__(EQVIZ_BLOCK) name##_f16(Upfirdn2dParams p) \
    {                                                                                      \
        upfirdn2d_tile<UP, DOWN, TAPS, FILTER_2D, Half>(p);                                \
    }

EQVIZ_UPFIRDN2D(upfirdn2d_generic_sep, 0, 0, 0, false)
EQVIZ_UPFIRDN2D(upfirdn2d_generic_2d, 0, 0, 0, true)
// StyleGAN2's 4x4 resampling filter: filter2d, upsample2d, downsample2d.
EQVIZ_UPFIRDN2D(upfirdn2d_up1_down1_2d4, 1, 1, 4, true)
EQVIZ_UPFIRDN2D(upfirdn2d_up2_down1_2d4, 2, 1, 4, true)
EQVIZ_UPFIRDN2D(upfirdn2d_up1_down2_2d4, 1, 2, 4, true)
// StyleGAN3's separable 12- and 24-tap low-pass filters.
EQVIZ_UPFIRDN2D(upfirdn2d_up1_down1_sep12, 1, 1, 12, false)
EQVIZ_UPFIRDN2D(upfirdn2d_up2_down1_sep12, 2, 1, 12, false)
EQVIZ_UPFIRDN2D(upfirdn2d_up1_down2_sep12, 1, 2, 12, false)
EQVIZ_UPFIRDN2D(upfirdn2d_up4_down1_sep24, 4, 1, 24, false)
