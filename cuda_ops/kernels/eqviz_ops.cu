// Single translation unit for the shipped fatbin: one module holds every kernel.
#include "upfirdn2d.cu"
#include "bias_act.cu"
#include "filtered_lrelu.cu"
