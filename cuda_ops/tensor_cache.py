"""Derived forms of a tensor kept on the tensor itself until it changes (one cache, one key)."""
import torch

CACHE_ATTRIBUTE = "_eqviz_derived_forms"


def cached_form(tensor: torch.Tensor, key, build):
    """build(), kept on `tensor` under `key` until the tensor changes.

    Forms of a parameter or buffer (a filter's phase weights, a weight's flip, energy or Winograd
    transform) depend on it alone, yet rebuilding them every call costs passes over the whole tensor
    per layer. The cache lives on the tensor (it dies with it) and is keyed on storage and version
    counter, which every in-place update (optimizer step, load_state_dict, copy_) advances; it holds
    derived tensors only. Inference tensors have no version counter: their forms are built every call.
    """
    if tensor.is_inference():
        return build()
    stamp = (tensor.data_ptr(), tensor._version)
    forms = getattr(tensor, CACHE_ATTRIBUTE, None)
    if forms is None or forms[0] != stamp:
        forms = (stamp, {})
        setattr(tensor, CACHE_ATTRIBUTE, forms)
    if key not in forms[1]:
        forms[1][key] = build()
    return forms[1][key]
