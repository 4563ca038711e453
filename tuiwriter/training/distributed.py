"""One process of several: where torchrun put this one, the process group, and agreeing to stop.

torchrun (`python -m torch.distributed.run`) starts the processes and gives each its place in
environment variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); across machines
its rendezvous (`--nnodes`, `--rdzv-endpoint`) fills in the same variables. This module reads
them, joins torch.distributed (NCCL between GPUs, gloo between CPU processes) and holds the two
collectives the loop needs besides DDP's gradient averaging: checking that every process read
the same text, and agreeing on when to stop. Nothing here launches or talks to processes itself.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Iterator, Mapping

import torch
import torch.distributed as dist

# Rank 0 validates and saves while the others wait in their next collective: give it time.
TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class World:
    """This process's place among the processes of one run: rank `rank` of `size`."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0  # its index among the processes of its machine (which GPU it takes)

    @property
    def main(self) -> bool:
        """Rank 0: the one process that validates, reports and saves."""
        return self.rank == 0


SINGLE = World()


def from_env(environ: Mapping[str, str] = os.environ) -> World:
    """Where torchrun put this process; a single process when torchrun did not start it."""
    try:
        world = World(int(environ["RANK"]), int(environ["WORLD_SIZE"]), int(environ.get("LOCAL_RANK", "0")))
    except (KeyError, ValueError):
        return SINGLE
    return world if world.size > 1 else SINGLE


def current() -> World:
    """This process's place in the process group it joined (a single process when it joined none)."""
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


@contextmanager
def process_group(world: World, device: torch.device) -> Iterator[None]:
    """Join the run's other processes for the length of the block (nothing to join for one process).

    The rendezvous address comes from torchrun's environment (init method env://).
    """
    if world.size == 1:
        yield
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=TIMEOUT)
    try:
        yield
    except BaseException:
        dist.destroy_process_group()  # the others may be gone: no waiting for them
        raise
    # Every process done with its collectives before any leaves: a gloo process whose peer had
    # already left aborted now and then ("terminate called without an active exception", 3 runs
    # in 28 of the two-process test; none in 20 with the barrier).
    dist.barrier()
    dist.destroy_process_group()


def _wire() -> torch.device:
    """Where a collective's tensors must live: NCCL reduces GPU tensors, gloo CPU tensors."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def check_same(value: int) -> None:
    """Raise a one-line error unless every process holds the same `value` (a fingerprint).

    Each process reads the files itself, so a machine with other files at those paths, or
    without the model a run continues, would otherwise train a different text in silence.
    """
    both = torch.tensor([value, -value], dtype=torch.int64, device=_wire())
    dist.all_reduce(both, op=dist.ReduceOp.MAX)
    if int(both[0]) != -int(both[1]):
        raise ValueError("the processes read different text or a different model: every machine needs "
                         "the same files at the same paths (and the same model folder for --from or --resume)")


def agree(elapsed: float, stop: bool) -> tuple[float, bool]:
    """The clock and the stop request every process uses for this update: the latest and anyone's.

    One small all-reduce per update, so that all processes leave the loop at the same update (a
    process that left early would leave the others waiting in DDP's gradient exchange). Sharing
    the clock also gives every process the same learning rate, which follows it, so their
    weights stay the same.
    """
    flags = torch.tensor([elapsed, float(stop)], dtype=torch.float64, device=_wire())
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return float(flags[0]), bool(flags[1] > 0)
