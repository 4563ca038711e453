"""The model every open document shares: one checkpoint, loaded once off the event loop, and an
engine per document built from it.

An `Engine` caches the states of ONE document, so each open document gets its own. What does not
depend on the document is shared instead of built again: the fused predictor (its weights, copied
out of the checkpoint) and the corpus memory (a suffix array over up to 4 MB of training text,
about a second and tens of MB per million characters to build). Sharing the predictor is safe
because every model call runs on the one inference thread (`inference`): its step reuses
preallocated buffers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuiwriter.lm.checkpoint import Checkpoint
    from tuiwriter.predict.engine import Engine
    from tuiwriter.predict.policy import SuggestConfig


@dataclass
class SharedModel:
    """A loaded model: its spec (as `--model` takes it), the suggestion policy from config.toml,
    and the first engine, whose document-independent parts every other engine reuses."""

    spec: str
    checkpoint: Checkpoint
    config: SuggestConfig
    first: Engine
    _first_taken: bool = field(default=False, repr=False)

    @property
    def name(self) -> str:
        return self.first.name

    def warm_up(self) -> None:
        """Ready the calling thread for model steps: one torch thread, and a throwaway
        suggestion. torch keeps its thread count per native thread, seeded from a process-wide
        default; a thread left at two runs each step's tanh as a two-thread team, which spins
        (the first suggestion on such a thread took about 300 ms here, against 10 once set).
        The first calls also cost tens of milliseconds, which the first keystroke should not."""
        import torch

        torch.set_num_threads(1)
        "".join(self._sibling().suggest("The ", 4))

    def engine_for_document(self) -> Engine:
        """A fresh engine (empty state cache, its own document match) for one more document.
        Called on the inference thread only."""
        if not self._first_taken:
            self._first_taken = True
            return self.first
        return self._sibling()

    def _sibling(self) -> Engine:
        return self.first.sibling()


def load(spec: str | None) -> tuple[SharedModel, str | None]:
    """Load `spec` (None: the active model in config.toml) with the settings in config.toml;
    also returns config.toml's one-line warning, if it had to be ignored. Imports torch: call it
    off the event loop. Raises CheckpointError (one line) for a model that cannot be used."""
    import torch

    from tuiwriter import settings as settings_module
    from tuiwriter.lm import store
    from tuiwriter.predict.engine import Engine

    torch.set_num_threads(1)  # a character step is too small to split (see `SharedModel.warm_up`)
    current, warning = settings_module.load()
    spec = spec or current.model
    ckpt = store.load(spec)
    from tuiwriter.predict.policy import SuggestConfig

    config = SuggestConfig.from_settings(current)
    first = Engine(ckpt, dataclasses.replace(config), name=spec)
    return SharedModel(spec, ckpt, config, first), warning
