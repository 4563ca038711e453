"""Which precision a training run computes in: bfloat16 where the hardware has it, float32 elsewhere."""

import pytest
import torch

from tuiwriter.training import devices

EPYC = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_vnni avx512_bf16\n\nprocessor\t: 1\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_vnni\n"
SAPPHIRE = "flags\t\t: avx512f amx_bf16 amx_tile amx_int8\n"
GRAVITON3 = "processor\t: 0\nFeatures\t: fp asimd sve i8mm bf16 svebf16\n"
GRAVITON2 = "processor\t: 0\nFeatures\t: fp asimd asimddp\n"


def test_bfloat16_instructions_are_read_from_cpuinfo():
    assert devices.cpu_has_bfloat16(EPYC) and devices.cpu_has_bfloat16(SAPPHIRE)
    assert devices.cpu_has_bfloat16(GRAVITON3)
    # AVX-512 without its bfloat16 extension would emulate it: slower than float32
    assert not devices.cpu_has_bfloat16(SKYLAKE) and not devices.cpu_has_bfloat16(GRAVITON2)
    assert not devices.cpu_has_bfloat16("")  # no /proc/cpuinfo (macOS, Windows): float32 as before


def test_auto_trains_in_bfloat16_only_on_a_cpu_that_has_it(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "cpu_info", lambda: EPYC)
    assert devices.autocast_dtype(cpu) == torch.bfloat16
    assert devices.describe(cpu) == "cpu (bfloat16 mixed precision)"
    assert devices.autocast_dtype(cpu, "float32") is None and devices.describe(cpu, "float32") == "cpu"
    monkeypatch.setattr(devices, "cpu_info", lambda: SKYLAKE)
    assert devices.autocast_dtype(cpu) is None and devices.describe(cpu) == "cpu"
    assert devices.autocast_dtype(cpu, "bfloat16") == torch.bfloat16  # asked for by name
    assert devices.autocast_dtype(torch.device("mps")) is None  # float32 on Apple's GPU, as before
    with pytest.raises(devices.DeviceError, match="precision 'half' is not one of auto, float32, bfloat16"):
        devices.autocast_dtype(cpu, "half")
