// filtered_lrelu forward, fused: per output tile of one plane, in shared memory,
//   input + bias -> upsample (fu) -> leaky ReLU * gain -> clamp -> downsample (fd) -> output.
// Nothing between the stages touches device memory. Separable filters run as an x pass and a
// y pass; 2-D (StyleGAN3-R radial) filters as one 2-D pass.
// Shared memory: [fu taps][fd taps][buf0][buf1]; the host sizes buf0/buf1 for the variant
// (cuda_ops/pycuda_kernels.py, _filtered_lrelu_geometry). As in upfirdn2d.cu, each kernel also
// comes as name_f16 for float16 input and output; the bias and filters stay float32.
#include "resample_tile.h"

// Outputs per thread in the blocked downsampling passes; divides every tile edge the host
// picks (32, 16, 8).
#define BLOCKED_OUTPUTS 4

template <int UP, int DOWN, int FU_TAPS, int FD_TAPS, bool FU_2D, bool FD_2D, class T>
__device__ __forceinline__ void filtered_lrelu_tile(const FilteredLReluParams& p)
{
    extern __shared__ float smem[];
    const int up = UP ? UP : p.up;
    const int down = DOWN ? DOWN : p.down;
    const int fu_n = FU_2D ? p.fu_w * p.fu_h : p.fu_w;
    const int fd_n = FD_2D ? p.fd_w * p.fd_h : p.fd_w;
    float* fu_s = smem;
    float* fd_s = fu_s + round_up4(fu_n);
    float* buf0 = fd_s + round_up4(fd_n);
    float* buf1 = buf0 + p.buf0_floats;
    load_filter(fu_s, p.fu, fu_n, p.flip, p.fu_scale);
    load_filter(fd_s, p.fd, fd_n, p.flip, 1.f);

    const int ox0 = blockIdx.x * p.tile_out_w;
    const int oy0 = blockIdx.y * p.tile_out_h;
    const int tx0 = ox0 * down;  // first upsampled (pre-downsampling) pixel this tile needs
    const int ty0 = oy0 * down;
    const int ix0 = ceil_div(tx0 - p.pad_x0, up);
    const int iy0 = ceil_div(ty0 - p.pad_y0, up);
    const int valid_w = min(p.tile_out_w, p.out_w - ox0);
    const int valid_h = min(p.tile_out_h, p.out_h - oy0);
    const LeakyReluGainClamp act = {p.slope, p.gain, p.clamp};

    for (int plane = blockIdx.z; plane < p.num_planes; plane += gridDim.z) {
        const T* x = reinterpret_cast<const T*>(p.x) + (size_t)plane * p.in_w * p.in_h;
        T* y = reinterpret_cast<T*>(p.y) + (size_t)plane * p.out_w * p.out_h + (size_t)oy0 * p.out_w + ox0;
        const float bias = p.b ? p.b[plane % p.channels] : 0.f;
        __syncthreads();  // the previous plane is done with the buffers (and the filters are loaded)
        load_tile(buf0, x, p.in_w, p.in_h, ix0, iy0, p.tile_in_w, p.tile_in_h, bias);
        __syncthreads();

        // Upsample + activation into `tmp` ([tile_tmp_h, tile_tmp_w]); `spare` is free after.
        float* tmp;
        float* spare;
        if (FU_2D) {
            pass_2d<UP, 1, FU_TAPS>(buf0, p.tile_in_w, ix0, iy0, buf1, p.tile_tmp_w, p.tile_tmp_h, p.tile_tmp_w,
                                    tx0, ty0, up, 1, p.fu_w, p.fu_h, p.pad_x0, p.pad_y0, fu_s, act);
            tmp = buf1;
            spare = buf0;
        } else {
            pass_x<UP, 1, FU_TAPS>(buf0, p.tile_in_w, ix0, buf1, p.tile_tmp_w, p.tile_in_h, p.tile_tmp_w, tx0,
                                   up, 1, p.fu_w, p.pad_x0, fu_s, Identity());
            __syncthreads();
            pass_y<UP, 1, FU_TAPS>(buf1, p.tile_tmp_w, iy0, buf0, p.tile_tmp_w, p.tile_tmp_h, p.tile_tmp_w, ty0,
                                   up, 1, p.fu_w, p.pad_y0, fu_s, act);
            tmp = buf0;
            spare = buf1;
        }
        __syncthreads();

        // Downsample straight into the output; fixed factors take the register-blocked passes.
        constexpr bool BLOCKED = DOWN != 0 && FD_TAPS != 0;
        constexpr int R = BLOCKED_OUTPUTS;
        if (FD_2D && BLOCKED) {
            pass_2d_down_blocked<DOWN ? DOWN : 1, FD_TAPS ? FD_TAPS : 1, R>(
                tmp, p.tile_tmp_w, tx0, ty0, y, p.out_w, valid_h, valid_w, ox0, oy0, fd_s, Identity());
        } else if (FD_2D) {
            pass_2d<1, DOWN, FD_TAPS>(tmp, p.tile_tmp_w, tx0, ty0, y, p.out_w, valid_h, valid_w, ox0, oy0,
                                      1, down, p.fd_w, p.fd_h, 0, 0, fd_s, Identity());
        } else if (BLOCKED) {
            pass_x_down_blocked<DOWN ? DOWN : 1, FD_TAPS ? FD_TAPS : 1, R>(
                tmp, p.tile_tmp_w, tx0, spare, p.tile_out_w, p.tile_tmp_h, p.tile_out_w, ox0, fd_s, Identity());
            __syncthreads();
            pass_y_down_blocked<DOWN ? DOWN : 1, FD_TAPS ? FD_TAPS : 1, R>(
                spare, p.tile_out_w, ty0, y, p.out_w, valid_h, valid_w, oy0, fd_s, Identity());
        } else {
            pass_x<1, DOWN, FD_TAPS>(tmp, p.tile_tmp_w, tx0, spare, p.tile_out_w, p.tile_tmp_h, p.tile_out_w, ox0,
                                     1, down, p.fd_w, 0, fd_s, Identity());
            __syncthreads();
            pass_y<1, DOWN, FD_TAPS>(spare, p.tile_out_w, ty0, y, p.out_w, valid_h, valid_w, oy0,
                                     1, down, p.fd_w, 0, fd_s, Identity());
        }
    }
}

#define EQVIZ_FILTERED_LRELU(name, UP, DOWN, FU_TAPS, FD_TAPS, FU_2D, FD_2D)                      \
    extern "C" __global__ void __launch_bounds__(EQVIZ_BLOCK) name(FilteredLReluParams p)         \
    {                                                                                             \
        filtered_lrelu_tile<UP, DOWN, FU_TAPS, FD_TAPS, FU_2D, FD_2D, float>(p);                  \
    }                                                                                             \
    extern "C" __global__ void __launch_bounds__(EQVIZ_BLOCK) name##_f16(FilteredLReluParams p)   \
    {                                                                                             \
        filtered_lrelu_tile<UP, DOWN, FU_TAPS, FD_TAPS, FU_2D, FD_2D, Half>(p);                   \
    }

EQVIZ_FILTERED_LRELU(filtered_lrelu_generic_sep_sep, 0, 0, 0, 0, false, false)
EQVIZ_FILTERED_LRELU(filtered_lrelu_generic_sep_2d, 0, 0, 0, 0, false, true)
EQVIZ_FILTERED_LRELU(filtered_lrelu_generic_2d_sep, 0, 0, 0, 0, true, false)
EQVIZ_FILTERED_LRELU(filtered_lrelu_generic_2d_2d, 0, 0, 0, 0, true, true)
// StyleGAN3 layers: 2x or 4x up with 12/24 taps, 2x down with 12 taps; -T separable, -R radial down.
EQVIZ_FILTERED_LRELU(filtered_lrelu_up2_down2_sep12_sep12, 2, 2, 12, 12, false, false)
EQVIZ_FILTERED_LRELU(filtered_lrelu_up4_down2_sep24_sep12, 4, 2, 24, 12, false, false)
EQVIZ_FILTERED_LRELU(filtered_lrelu_up2_down2_sep12_2d12, 2, 2, 12, 12, false, true)
EQVIZ_FILTERED_LRELU(filtered_lrelu_up4_down2_sep24_2d12, 4, 2, 24, 12, false, true)
