"""Devices: the one check of a device name the caller asked for (it exists here, or a sentence says what
to use), and a module on a device without moving the caller's."""
import copy

import torch

from eqviz.errors import InvalidArgument


def check_device(device, argument: str = "device") -> torch.device:
    """`device` ('cpu', 'cuda', 'cuda:1', a torch.device) as a torch.device PyTorch can use on this machine.

    Raises InvalidArgument naming `argument` for a malformed name, CUDA without a CUDA GPU, or a GPU
    index past the last one."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidArgument(f"unknown device {device!r}; use 'cpu' or 'cuda'", argument) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InvalidArgument(f"{device} was asked for but PyTorch sees no CUDA GPU; use the CPU", argument)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InvalidArgument(f"{device} was asked for but PyTorch sees {torch.cuda.device_count()} CUDA GPU(s); "
                                  "use cuda:0 or another that exists", argument)
    return device


def same_device(a: torch.device, b: torch.device) -> bool:
    """True when two devices name the same memory ('cuda' is the current GPU)."""
    a, b = torch.device(a), torch.device(b)
    if a.type != b.type:
        return False
    if a.type != "cuda":
        return True
    current = torch.cuda.current_device()
    return (current if a.index is None else a.index) == (current if b.index is None else b.index)


def module_on(module: torch.nn.Module, device) -> torch.nn.Module:
    """`module` itself when all of it is already on `device`, else a copy there: a function that promises
    to only read a caller's generator never moves it (the app may be rendering with it)."""
    device = torch.device(device)
    tensors = [*module.parameters(), *module.buffers()]
    if all(same_device(t.device, device) for t in tensors):
        return module
    return copy.deepcopy(module).to(device)
