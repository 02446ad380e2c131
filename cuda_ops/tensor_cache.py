"""Derived forms of a tensor kept beside the tensor until it changes (one cache, one key)."""
import weakref

import torch

# id(tensor) -> (stamp, {key: form}); an entry leaves when its tensor dies. Kept off the tensor itself:
# copy.deepcopy(module) iterates each tensor's __dict__, and a form added there by a thread rendering with
# the same module meanwhile broke the copy ("dictionary changed size during iteration") and doubled it.
_FORMS: dict = {}


def cached_form(tensor: torch.Tensor, key, build):
    """build(), kept for `tensor` under `key` until the tensor changes.

    Forms of a parameter or buffer (a filter's phase weights, a weight's flip, energy or Winograd
    transform) depend on it alone, yet rebuilding them every call costs passes over the whole tensor
    per layer. The cache is keyed on storage and version counter, which every in-place update
    (optimizer step, load_state_dict, copy_) advances, and it holds derived tensors only. Inference
    tensors have no version counter: their forms are built every call.
    """
    if tensor.is_inference():
        return build()
    stamp = (tensor.data_ptr(), tensor._version)
    entry = _FORMS.get(id(tensor))
    if entry is None or entry[0] != stamp:
        if entry is None:
            weakref.finalize(tensor, _FORMS.pop, id(tensor), None)
        entry = (stamp, {})
        _FORMS[id(tensor)] = entry
    forms = entry[1]
    if key not in forms:
        forms[key] = build()
    return forms[key]


def has_cached_forms(tensor: torch.Tensor) -> bool:
    """Whether derived forms of `tensor` are kept (a test proves the cache fills, without reading it)."""
    return id(tensor) in _FORMS
