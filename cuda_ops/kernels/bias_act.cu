// bias_act forward: elementwise, one grid-stride loop, the activation fixed per kernel; each
// kernel also comes as name_f16 for float16 x and y (the bias stays float32).
#include "resample_tile.h"

enum Activation { LINEAR, RELU, LRELU, TANH, SIGMOID, ELU, SELU, SOFTPLUS, SWISH };

template <int ACT>
__device__ __forceinline__ float activate(float v, float alpha)
{
    if (ACT == RELU) return v > 0.f ? v : 0.f;
    if (ACT == LRELU) return v > 0.f ? v : v * alpha;
    if (ACT == TANH) return tanhf(v);
    if (ACT == SIGMOID) return 1.f / (1.f + expf(-v));
    if (ACT == ELU) return v > 0.f ? v : expm1f(v);
    if (ACT == SELU) {
        const float a = 1.6732632423543772f, scale = 1.0507009873554805f;
        return scale * (v > 0.f ? v : a * expm1f(v));
    }
    if (ACT == SOFTPLUS) return v > 20.f ? v : log1pf(expf(v));  // torch's threshold of 20
    if (ACT == SWISH) return v / (1.f + expf(-v));
    return v;
}

template <int ACT, class T>
__device__ __forceinline__ void bias_act_loop(const BiasActParams& p)
{
    const T* x = reinterpret_cast<const T*>(p.x);
    T* y = reinterpret_cast<T*>(p.y);
    const int stride = gridDim.x * blockDim.x;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += stride) {
        float v = load_value(&x[i]);
        if (p.b)
            v += p.b[(i / p.bias_stride) % p.bias_len];
        v = activate<ACT>(v, p.alpha) * p.gain;
        if (p.clamp >= 0.f)
            v = fminf(fmaxf(v, -p.clamp), p.clamp);
        store_value(&y[i], v);
    }
}

#define EQVIZ_BIAS_ACT(name, ACT)                                                 \
    extern "C" __global__ void __launch_bounds__(256) name(BiasActParams p)       \
    {                                                                             \
        bias_act_loop<ACT, float>(p);                                             \
    }                                                                             \
    extern "C" __global__ void __launch_bounds__(256) name##_f16(BiasActParams p) \
    {                                                                             \
        bias_act_loop<ACT, Half>(p);                                              \
    }

EQVIZ_BIAS_ACT(bias_act_linear, LINEAR)
EQVIZ_BIAS_ACT(bias_act_relu, RELU)
EQVIZ_BIAS_ACT(bias_act_lrelu, LRELU)
EQVIZ_BIAS_ACT(bias_act_tanh, TANH)
EQVIZ_BIAS_ACT(bias_act_sigmoid, SIGMOID)
EQVIZ_BIAS_ACT(bias_act_elu, ELU)
EQVIZ_BIAS_ACT(bias_act_selu, SELU)
EQVIZ_BIAS_ACT(bias_act_softplus, SOFTPLUS)
EQVIZ_BIAS_ACT(bias_act_swish, SWISH)
