"""Which device a run trains on, and in what precision: `auto`, `cpu`, `cuda`, `cuda:N` or `mps`.

`auto` takes CUDA, then Apple's MPS, then the CPU. A device that was named but is not there is
a `DeviceError` (one line), never a quiet fall back to the CPU: a person who asked for their GPU
wants to know it was not found. The names themselves are checked without torch by
`settings.device_problem` (config.toml and the command line share them).

On CUDA, and on a CPU that computes bfloat16 natively, the loop trains in mixed precision
(`autocast_dtype`), validation too; the master weights, the optimizer and every checkpoint stay
float32.
"""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from tuiwriter.settings import PRECISIONS, device_problem


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


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The mixed precision a run uses on `device`; None trains in float32.

    `auto` on CUDA: bfloat16 where the GPU computes it natively (compute capability 8.0 and
    later), float16 elsewhere. Either way the loop keeps a gradient scaler there: PyTorch's
    autocast runs cuDNN's LSTM in float16 whatever the autocast dtype
    (aten/src/ATen/cudnn/AutocastRNN.cpp casts to half), so the LSTM's small gradients need the
    scaling that float16 always needs.

    `auto` on a CPU: bfloat16 where the CPU has bfloat16 instructions (`cpu_has_bfloat16`), since
    a time-budgeted run reads more in the same minutes (the base model's update: 14,600 against
    8,300 characters/s on this project's 2-core EPYC, the model card's "Training in bfloat16 on
    the CPU"); float32 on a CPU without them, where oneDNN would emulate bfloat16, and on MPS.
    `float32` and `bfloat16` force the choice (bfloat16 only where autocast offers it).
    """
    if precision not in PRECISIONS:
        raise DeviceError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "float32" or device.type not in ("cuda", "cpu"):
        return None
    if device.type == "cuda":
        if precision == "bfloat16" or torch.cuda.get_device_properties(device).major >= 8:
            return torch.bfloat16
        return torch.float16
    return torch.bfloat16 if precision == "bfloat16" or cpu_has_bfloat16() else None


def cpu_has_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU computes bfloat16 in hardware: x86's AVX512-BF16 or AMX-BF16 flags, or
    Arm's BF16 feature, as Linux lists them in /proc/cpuinfo (`cpuinfo`: that text, for tests).
    Elsewhere (macOS, Windows) False: float32, as before."""
    flags: set[str] = set()
    for line in (cpu_info() if cpuinfo is None else cpuinfo).splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            flags.update(value.split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def cpu_info() -> str:
    """/proc/cpuinfo on Linux; empty elsewhere or when it cannot be read."""
    if platform.system() != "Linux":
        return ""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def describe(device: torch.device, precision: str = "auto") -> str:
    """A few words for the start of a run: the device and its precision."""
    dtype = autocast_dtype(device, precision)
    return f"{device} ({str(dtype).removeprefix('torch.')} mixed precision)" if dtype else str(device)
