"""Which device a run trains on, and in what precision: `auto`, `cpu`, `cuda`, `cuda:N` or `mps`.

`auto` takes CUDA, then Apple's MPS, then the CPU. A device that was named but is not there is
a `DeviceError` (one line), never a quiet fall back to the CPU: a person who asked for their GPU
wants to know it was not found. The names themselves are checked without torch by
`settings.device_problem` (config.toml and the command line share them).

On CUDA the loop trains in mixed precision (`autocast_dtype`); the master weights, the optimizer
and every checkpoint stay float32.
"""

from __future__ import annotations

import torch

from tuiwriter.settings import device_problem


class DeviceError(ValueError):
    """A device that cannot be used here; the message is one line."""


def resolve(spec: str, local_rank: int = 0, processes: int = 1) -> torch.device:
    """The device `spec` names on this machine.

    Under torchrun (`processes` > 1) each process takes the GPU of its local rank: `cuda` and
    `auto` mean cuda:LOCAL_RANK, and a single GPU (`cuda:N`) or MPS, which DDP cannot span, is
    an error.
    """
    problem = device_problem(spec)
    if problem:
        raise DeviceError(problem)
    cuda = torch.cuda.is_available()
    if spec == "auto":
        spec = "cuda" if cuda else "mps" if processes == 1 and _mps() else "cpu"
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "mps":
        if processes > 1:
            raise DeviceError("device 'mps' trains in one process only: several processes need CUDA or the CPU")
        if not _mps():
            raise DeviceError("device 'mps' is not available here (it needs Apple silicon and a torch built for it)")
        return torch.device("mps")
    if not cuda:
        why = "this torch was built without CUDA" if torch.version.cuda is None else "no CUDA GPU was found"
        raise DeviceError(f"device {spec!r} is not available: {why} (use cpu or auto)")
    count = torch.cuda.device_count()
    if spec == "cuda":
        index = local_rank if processes > 1 else torch.cuda.current_device()
    elif processes > 1:
        raise DeviceError(f"device {spec!r} names one GPU: under torchrun use --device cuda "
                          "(each process takes the GPU of its local rank)")
    else:
        index = int(spec.split(":")[1])
    if index >= count:
        raise DeviceError(f"device 'cuda:{index}' is not available: this machine has {count} CUDA GPU(s)"
                          + (" (start at most that many processes per machine)" if processes > 1 else ""))
    return torch.device("cuda", index)


def _mps() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed precision a run uses on `device`; None trains in float32 (the CPU and MPS).

    On CUDA: bfloat16 where the GPU computes it natively (compute capability 8.0 and later),
    float16 elsewhere. Either way the loop keeps a gradient scaler: PyTorch's autocast runs
    cuDNN's LSTM in float16 whatever the autocast dtype (aten/src/ATen/cudnn/AutocastRNN.cpp
    casts to half), so the LSTM's small gradients need the scaling that float16 always needs.
    """
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.get_device_properties(device).major >= 8 else torch.float16


def describe(device: torch.device) -> str:
    """A few words for the start of a run: the device and its precision."""
    dtype = autocast_dtype(device)
    return f"{device} ({str(dtype).removeprefix('torch.')} mixed precision)" if dtype else str(device)
