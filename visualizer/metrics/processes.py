"""Running a metric under torchrun: joining the process group, who am I, summing over processes, full float32.

Shared by every metric that splits samples over processes (equivariance, FID/KID): each process
adds its own samples into sums, and the sums are all-reduced so every process ends with the same result.
"""
import contextlib
import os

import torch


@contextlib.contextmanager
def process_group_from_env(device: str):
    """Joins torchrun's process group when WORLD_SIZE > 1 (NCCL for CUDA, gloo for CPU).

    Yields (rank, world_size, device): under torchrun each CUDA process takes cuda:LOCAL_RANK.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        yield 0, 1, device
        return
    import torch.distributed as dist

    rank = int(os.environ["RANK"])
    if device.startswith("cuda"):
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local_rank)
        device, backend = f"cuda:{local_rank}", "nccl"
    else:
        backend = "gloo"
    dist.init_process_group(backend=backend)
    try:
        yield rank, world_size, device
    finally:
        dist.destroy_process_group()


def rank_and_world_size() -> tuple:
    """(rank, world size) of this process; (0, 1) outside torch.distributed."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def sum_over_processes(tensors: list, device) -> list:
    """All-reduce (sum) a list of tensors; NCCL needs them on the GPU, gloo takes them on the CPU."""
    if rank_and_world_size()[1] == 1:
        return list(tensors)
    dist = torch.distributed
    on = torch.device(device) if dist.get_backend() == "nccl" else torch.device("cpu")
    reduced = []
    for t in tensors:
        t = t.to(on)
        dist.all_reduce(t)
        reduced.append(t.cpu())
    return reduced


@contextlib.contextmanager
def full_float32():
    """TF32 off while measuring, as NVIDIA's metric scripts run: on GPUs it would add ~1e-3 relative
    error to every convolution, far above the ~90 dB EQ-T noise floor being measured."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
