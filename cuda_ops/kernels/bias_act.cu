// bias_act forward: elementwise, one grid-stride loop, the activation fixed per kernel.
#include "eqviz_params.h"

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

template <int ACT>
__device__ __forceinline__ void bias_act_loop(const BiasActParams& p)
{
    const int stride = gridDim.x * blockDim.x;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += stride) {
        float v = p.x[i];
        if (p.b)
            v += p.b[(i / p.bias_stride) % p.bias_len];
        v = activate<ACT>(v, p.alpha) * p.gain;
        if (p.clamp >= 0.f)
            v = fminf(fmaxf(v, -p.clamp), p.clamp);
        p.y[i] = v;
    }
}

#define EQVIZ_BIAS_ACT(name, ACT)                                             \
    extern "C" __global__ void __launch_bounds__(256) name(BiasActParams p)   \
    {                                                                         \
        bias_act_loop<ACT>(p);                                                \
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
