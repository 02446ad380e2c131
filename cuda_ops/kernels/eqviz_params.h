// Parameter structs, one per op, passed BY VALUE as each kernel's only argument.
// cuda_ops/kernel_params.py mirrors every field with an explicit byte offset; the
// layout test compiles this header on the host and compares offsetof/sizeof with it.
// Plain C types only: the header is read by NVRTC, nvcc and a host C++ compiler alike.
#pragma once

// upfirdn2d: zero-insert by `up`, pad, FIR filter, keep every `down`-th sample.
struct Upfirdn2dParams {
    const float* x;        // [planes, in_h, in_w] contiguous input
    float* y;              // [planes, out_h, out_w] contiguous output
    const float* f;        // [f_h, f_w] (2-D) or [f_w] (separable) filter, as the user gave it
    int num_planes;        // N * C
    int in_w, in_h;
    int out_w, out_h;
    int up, down;
    int pad_x0, pad_y0;    // leading padding (negative = crop); the trailing side only sets out_w/out_h
    int f_w, f_h;          // taps; f_h == f_w for a separable filter
    int flip;              // 0: true convolution (filter flipped while loading), 1: correlation
    float filter_scale;    // multiplies every tap: gain for a 2-D filter, sqrt(gain) per pass when separable
    int tile_out_w, tile_out_h;  // output pixels per block
    int tile_in_w, tile_in_h;    // input pixels staged per block (host-computed capacity)
    int buf0_floats, buf1_floats;  // dynamic shared-memory split (floats), after the filter taps
};

// bias_act: y = clamp(act(x + b) * gain) elementwise, b broadcast along one dim.
struct BiasActParams {
    const float* x;        // contiguous input, `n` elements
    float* y;              // contiguous output, `n` elements
    const float* b;        // [bias_len] or null
    int n;
    int bias_len;          // size of x along `dim`
    int bias_stride;       // elements between neighbours along `dim` (product of later dims)
    float alpha;
    float gain;
    float clamp;           // < 0: no clamp
};

// filtered_lrelu: x + b -> upsample (fu) -> leaky ReLU * gain -> clamp -> downsample (fd).
struct FilteredLReluParams {
    const float* x;        // [planes, in_h, in_w]
    float* y;              // [planes, out_h, out_w]
    const float* fu;       // up filter [fu_h, fu_w] or [fu_w]
    const float* fd;       // down filter [fd_h, fd_w] or [fd_w]
    const float* b;        // [channels] or null
    int num_planes;        // N * C
    int channels;          // C, to index the bias by plane
    int in_w, in_h;
    int out_w, out_h;
    int up, down;
    int pad_x0, pad_y0;
    int fu_w, fu_h;
    int fd_w, fd_h;
    int flip;
    float fu_scale;        // multiplies every up-filter tap: up**2 for a 2-D filter, up per pass when separable
    float gain;            // activation gain
    float slope;           // negative slope
    float clamp;           // < 0: no clamp
    int tile_out_w, tile_out_h;
    int tile_tmp_w, tile_tmp_h;  // upsampled pixels per block: (tile_out - 1) * down + fd taps
    int tile_in_w, tile_in_h;
    int buf0_floats, buf1_floats;
};
