"""Progress of the runs in this process, reported by the engine to whoever listens (the CLI).

The step and scatter code call :func:`report` with small :class:`ProgressEvent` records; the
command line renders them (a live table in a terminal, a few plain lines otherwise). Reports go
to listeners in this process only, never to the Prefect API, so they cost nothing when nobody
listens (a deployment, a Dask worker) and a listener never slows a run by polling.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from tasks.runtime.logs import run_logger


@dataclass(frozen=True)
class ProgressEvent:
    """One thing that happened.

    Attributes:
        kind: ``run`` (a flow started: ``name``, ``detail`` = its UI address, ``total`` = steps),
            ``step`` (a top-level step changed ``state``: running, done, failed, skipped),
            ``branch`` (scatter branch ``index``, or app chunk ``detail``, of step or phase
            ``name`` ended in ``state``),
            ``branches`` (step or phase ``name``: ``done``/``failed`` of ``total`` so far;
            ``detail`` = what is counted, ``branches`` by default, ``chunks`` for an app),
            ``transfer`` (a large file ``name`` = ``"download big.bam"`` moved ``done`` of ``total``
            bytes; ``state`` running or done; see :mod:`tasks.runtime.transfers`).
    """

    kind: str
    name: str
    state: str = ""
    done: int = 0
    failed: int = 0
    total: int = 0
    index: int = -1
    duration_s: float = 0.0
    detail: str = ""


Listener = Callable[[ProgressEvent], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


def report(event: ProgressEvent) -> None:
    """Hand ``event`` to every listener; a failing listener is logged and never stops the run."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(event)
        except Exception as exc:  # a display problem must not fail a workflow
            run_logger().debug("progress listener failed: %s", exc)


def forget_listeners() -> None:
    """Drop every listener and renew the lock: a forked worker process reports to nobody (its
    listeners are the parent's display; a thread of the parent may have held the lock at the fork)."""
    global _lock
    _lock = threading.Lock()
    _listeners.clear()


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send every event reported in this process to ``listener`` while the block runs."""
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)
