"""Alias-free filter ops (upfirdn2d, bias_act, filtered_lrelu): pure-PyTorch paths and pycuda kernels."""
