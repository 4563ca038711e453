"""The one thread the model runs on, and the tickets that stop work nobody will use.

Engines are not thread-safe and every document's engine shares one predictor, so all model work
runs here, one job at a time, and the event loop only awaits it: protocol messages (a didChange,
a `$/cancelRequest`) keep being read while a suggestion is computed. A daemon thread rather
than an executor, which is joined at exit: `exit` must not wait for a document being read.

A request's ticket goes stale when its document changes or closes, the model is switched, a
newer request arrives (a person types in one place at a time: the newest request is the one a
client still shows, and an older one must not hold the thread for it), the client cancels it,
or the server shuts down. The engine checks it between model steps, and a stale request is
answered with no items, never with a suggestion for text that is gone.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Callable, TypeVar

T = TypeVar("T")


class Ticket:
    """Whether a request's work is still wanted: `stale()` is the engine's `cancelled`."""

    def __init__(self, current: Callable[[], bool]) -> None:
        self._current = current
        self.dropped = False  # superseded by a newer request, or cancelled by the client

    def stale(self) -> bool:
        return self.dropped or not self._current()


class InferenceThread:
    """Runs submitted jobs one at a time, in order, on one daemon thread."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future, Callable[[], object]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="tuiwriter-inference", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Queue `job`; a future cancelled before the job starts skips it."""
        future: Future[T] = Future()
        self._jobs.put((future, job))
        return future

    def _run(self) -> None:
        while True:
            future, job = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:  # noqa: BLE001 - handed to whoever awaits the job
                future.set_exception(exc)
