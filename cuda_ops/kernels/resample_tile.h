// Building blocks shared by the upfirdn2d and filtered_lrelu kernels: stage a tile of one
// image plane in shared memory, then run polyphase FIR passes over it.
//
// Every pass computes, for an output index o (along x, y or both),
//     dst[o] = epilogue( sum_k upz[o * down + k - pad] * f[k] ),
// where upz is the source zero-inserted by `up` and f is the filter already flipped into
// correlation order. Only taps k with (o * down + k - pad) divisible by `up` hit a real
// sample, so each output visits ceil(taps / up) taps starting at phase k0. A template value
// of 0 means "read it from the runtime argument" (the generic kernels); fixed values let the
// compiler unroll the tap loops (the specialisations).
#pragma once
#include "eqviz_params.h"

#define EQVIZ_BLOCK 256

__device__ __forceinline__ int floor_div(int a, int b)  // b > 0
{
    int q = a / b;
    return (q * b > a) ? q - 1 : q;
}

__device__ __forceinline__ int ceil_div(int a, int b) { return -floor_div(-a, b); }

__device__ __forceinline__ int pos_mod(int a, int b)
{
    int r = a % b;
    return r < 0 ? r + b : r;
}

__host__ __device__ __forceinline__ int round_up4(int n) { return (n + 3) & ~3; }

// Taps one output visits when both the tap count and the up factor are fixed (else unused).
__host__ __device__ constexpr int taps_per_phase(int taps, int up) { return up ? (taps + up - 1) / up : 1; }

// Half precision in memory, float32 in arithmetic (as NVIDIA's half kernels): 16-bit storage
// converted with the PTX cvt instructions, so no CUDA header beyond the compiler's own is needed.
struct Half {
    unsigned short bits;
};

__device__ __forceinline__ float load_value(const float* p) { return *p; }

__device__ __forceinline__ float load_value(const Half* p)
{
    float v;
    asm("cvt.f32.f16 %0, %1;" : "=f"(v) : "h"(p->bits));
    return v;
}

__device__ __forceinline__ void store_value(float* p, float v) { *p = v; }

__device__ __forceinline__ void store_value(Half* p, float v)
{
    unsigned short bits;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(bits) : "f"(v));
    p->bits = bits;
}

struct Identity {
    __device__ __forceinline__ float operator()(float v) const { return v; }
};

// Leaky ReLU, gain, optional clamp: the nonlinearity between up- and downsampling.
struct LeakyReluGainClamp {
    float slope, gain, clamp;
    __device__ __forceinline__ float operator()(float v) const
    {
        v = v < 0.f ? v * slope : v;
        v *= gain;
        if (clamp >= 0.f)
            v = fminf(fmaxf(v, -clamp), clamp);
        return v;
    }
};

// Copy `n` taps to shared memory in correlation order, scaled once here rather than per use.
// Reversing the flat array flips a 2-D filter along both axes.
__device__ __forceinline__ void load_filter(float* dst, const float* f, int n, int flip, float scale)
{
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        dst[i] = f[flip ? i : n - 1 - i] * scale;
}

// Stage input pixels [y0, y0 + h) x [x0, x0 + w) of one plane; outside the image reads 0,
// so padding and zero insertion never need a bounds test in the passes.
template <class T>
__device__ __forceinline__ void load_tile(float* dst, const T* plane, int in_w, int in_h,
                                          int x0, int y0, int w, int h, float bias)
{
    for (int idx = threadIdx.x; idx < w * h; idx += blockDim.x) {
        int r = idx / w;
        int c = idx - r * w;
        int gx = x0 + c;
        int gy = y0 + r;
        bool inside = gx >= 0 && gx < in_w && gy >= 0 && gy < in_h;
        dst[idx] = inside ? load_value(&plane[(size_t)gy * in_w + gx]) + bias : 0.f;
    }
}

// One 1-D pass along x for `rows` x `cols` outputs; column c is output index dst_x0 + c and
// source column 0 is source index src_x0.
template <int UP, int DOWN, int TAPS, class Epilogue, class Out>
__device__ __forceinline__ void pass_x(const float* src, int src_stride, int src_x0,
                                       Out* dst, int dst_stride, int rows, int cols, int dst_x0,
                                       int up_rt, int down_rt, int taps_rt, int pad,
                                       const float* f, Epilogue epilogue)
{
    const int up = UP ? UP : up_rt;
    const int down = DOWN ? DOWN : down_rt;
    const int taps = TAPS ? TAPS : taps_rt;
    for (int idx = threadIdx.x; idx < rows * cols; idx += blockDim.x) {
        int r = idx / cols;
        int c = idx - r * cols;
        int base = (dst_x0 + c) * down - pad;
        int k0 = pos_mod(-base, up);
        const float* s = src + r * src_stride + (base + k0) / up - src_x0;
        float acc = 0.f;
        if (UP && TAPS) {
#pragma unroll
            for (int j = 0; j < taps_per_phase(TAPS, UP); ++j)
                if (k0 + j * UP < TAPS)
                    acc += s[j] * f[k0 + j * UP];
        } else {
            for (int k = k0, j = 0; k < taps; k += up, ++j)
                acc += s[j] * f[k];
        }
        store_value(&dst[r * dst_stride + c], epilogue(acc));
    }
}

// The same pass along y: row r is output index dst_y0 + r.
template <int UP, int DOWN, int TAPS, class Epilogue, class Out>
__device__ __forceinline__ void pass_y(const float* src, int src_stride, int src_y0,
                                       Out* dst, int dst_stride, int rows, int cols, int dst_y0,
                                       int up_rt, int down_rt, int taps_rt, int pad,
                                       const float* f, Epilogue epilogue)
{
    const int up = UP ? UP : up_rt;
    const int down = DOWN ? DOWN : down_rt;
    const int taps = TAPS ? TAPS : taps_rt;
    for (int idx = threadIdx.x; idx < rows * cols; idx += blockDim.x) {
        int r = idx / cols;
        int c = idx - r * cols;
        int base = (dst_y0 + r) * down - pad;
        int k0 = pos_mod(-base, up);
        const float* s = src + ((base + k0) / up - src_y0) * src_stride + c;
        float acc = 0.f;
        if (UP && TAPS) {
#pragma unroll
            for (int j = 0; j < taps_per_phase(TAPS, UP); ++j)
                if (k0 + j * UP < TAPS)
                    acc += s[j * src_stride] * f[k0 + j * UP];
        } else {
            for (int k = k0, j = 0; k < taps; k += up, ++j)
                acc += s[j * src_stride] * f[k];
        }
        store_value(&dst[r * dst_stride + c], epilogue(acc));
    }
}

// A non-separable pass with a [taps_h, taps_w] filter (TAPS fixes both when non-zero).
template <int UP, int DOWN, int TAPS, class Epilogue, class Out>
__device__ __forceinline__ void pass_2d(const float* src, int src_stride, int src_x0, int src_y0,
                                        Out* dst, int dst_stride, int rows, int cols,
                                        int dst_x0, int dst_y0,
                                        int up_rt, int down_rt, int taps_w_rt, int taps_h_rt,
                                        int pad_x, int pad_y, const float* f, Epilogue epilogue)
{
    const int up = UP ? UP : up_rt;
    const int down = DOWN ? DOWN : down_rt;
    const int taps_w = TAPS ? TAPS : taps_w_rt;
    const int taps_h = TAPS ? TAPS : taps_h_rt;
    for (int idx = threadIdx.x; idx < rows * cols; idx += blockDim.x) {
        int r = idx / cols;
        int c = idx - r * cols;
        int base_x = (dst_x0 + c) * down - pad_x;
        int base_y = (dst_y0 + r) * down - pad_y;
        int kx0 = pos_mod(-base_x, up);
        int ky0 = pos_mod(-base_y, up);
        const float* s = src + ((base_y + ky0) / up - src_y0) * src_stride + (base_x + kx0) / up - src_x0;
        float acc = 0.f;
        if (UP && TAPS) {
#pragma unroll 1  // unrolling both loops keeps every tap in registers: too few blocks fit
            for (int jy = 0; jy < taps_per_phase(TAPS, UP); ++jy) {
                int ky = ky0 + jy * UP;
                if (ky < TAPS) {
#pragma unroll
                    for (int jx = 0; jx < taps_per_phase(TAPS, UP); ++jx) {
                        int kx = kx0 + jx * UP;
                        if (kx < TAPS)
                            acc += s[jy * src_stride + jx] * f[ky * TAPS + kx];
                    }
                }
            }
        } else {
            for (int ky = ky0, jy = 0; ky < taps_h; ky += up, ++jy)
                for (int kx = kx0, jx = 0; kx < taps_w; kx += up, ++jx)
                    acc += s[jy * src_stride + jx] * f[ky * taps_w + kx];
        }
        store_value(&dst[r * dst_stride + c], epilogue(acc));
    }
}

// ---- Downsampling passes with register blocking (fixed DOWN and TAPS, no zero insertion) ----
// Each thread produces R neighbouring outputs: every filter tap is read once for R products,
// and the source samples the R outputs share are read once into registers. R must divide the
// tile edge, so a partial group never reads outside the staged tile.

template <int DOWN, int TAPS, int R, class Epilogue, class Out>
__device__ __forceinline__ void pass_x_down_blocked(const float* src, int src_stride, int src_x0,
                                                    Out* dst, int dst_stride, int rows, int cols, int dst_x0,
                                                    const float* f, Epilogue epilogue)
{
    constexpr int SPAN = (R - 1) * DOWN + TAPS;
    const int groups = (cols + R - 1) / R;
    for (int idx = threadIdx.x; idx < rows * groups; idx += blockDim.x) {
        int r = idx / groups;
        int c = (idx - r * groups) * R;
        const float* s = src + r * src_stride + (dst_x0 + c) * DOWN - src_x0;
        float v[SPAN];
#pragma unroll
        for (int j = 0; j < SPAN; ++j)
            v[j] = s[j];
        float acc[R];
#pragma unroll
        for (int i = 0; i < R; ++i)
            acc[i] = 0.f;
#pragma unroll
        for (int k = 0; k < TAPS; ++k) {
            float w = f[k];
#pragma unroll
            for (int i = 0; i < R; ++i)
                acc[i] += v[i * DOWN + k] * w;
        }
#pragma unroll
        for (int i = 0; i < R; ++i)
            if (c + i < cols)
                store_value(&dst[r * dst_stride + c + i], epilogue(acc[i]));
    }
}

template <int DOWN, int TAPS, int R, class Epilogue, class Out>
__device__ __forceinline__ void pass_y_down_blocked(const float* src, int src_stride, int src_y0,
                                                    Out* dst, int dst_stride, int rows, int cols, int dst_y0,
                                                    const float* f, Epilogue epilogue)
{
    constexpr int SPAN = (R - 1) * DOWN + TAPS;
    const int groups = (rows + R - 1) / R;
    for (int idx = threadIdx.x; idx < groups * cols; idx += blockDim.x) {
        int g = idx / cols;
        int c = idx - g * cols;
        int r = g * R;
        const float* s = src + ((dst_y0 + r) * DOWN - src_y0) * src_stride + c;
        float v[SPAN];
#pragma unroll
        for (int j = 0; j < SPAN; ++j)
            v[j] = s[j * src_stride];
        float acc[R];
#pragma unroll
        for (int i = 0; i < R; ++i)
            acc[i] = 0.f;
#pragma unroll
        for (int k = 0; k < TAPS; ++k) {
            float w = f[k];
#pragma unroll
            for (int i = 0; i < R; ++i)
                acc[i] += v[i * DOWN + k] * w;
        }
#pragma unroll
        for (int i = 0; i < R; ++i)
            if (r + i < rows)
                store_value(&dst[(r + i) * dst_stride + c], epilogue(acc[i]));
    }
}

template <int DOWN, int TAPS, int R, class Epilogue, class Out>
__device__ __forceinline__ void pass_2d_down_blocked(const float* src, int src_stride, int src_x0, int src_y0,
                                                     Out* dst, int dst_stride, int rows, int cols,
                                                     int dst_x0, int dst_y0, const float* f, Epilogue epilogue)
{
    constexpr int SPAN = (R - 1) * DOWN + TAPS;
    const int groups = (cols + R - 1) / R;
    for (int idx = threadIdx.x; idx < rows * groups; idx += blockDim.x) {
        int r = idx / groups;
        int c = (idx - r * groups) * R;
        const float* s = src + ((dst_y0 + r) * DOWN - src_y0) * src_stride + (dst_x0 + c) * DOWN - src_x0;
        float acc[R];
#pragma unroll
        for (int i = 0; i < R; ++i)
            acc[i] = 0.f;
#pragma unroll 1
        for (int ky = 0; ky < TAPS; ++ky) {
            float v[SPAN];
#pragma unroll
            for (int j = 0; j < SPAN; ++j)
                v[j] = s[ky * src_stride + j];
#pragma unroll
            for (int kx = 0; kx < TAPS; ++kx) {
                float w = f[ky * TAPS + kx];
#pragma unroll
                for (int i = 0; i < R; ++i)
                    acc[i] += v[i * DOWN + kx] * w;
            }
        }
#pragma unroll
        for (int i = 0; i < R; ++i)
            if (c + i < cols)
                store_value(&dst[r * dst_stride + c + i], epilogue(acc[i]));
    }
}
