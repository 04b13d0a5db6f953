"""Forked worker processes for the Python part of large scatters: both cores instead of one.

A scatter branch's Python work (repository files, workspace, the command's start) holds the GIL,
so the branches of one process use one core however many threads run them. :class:`ForkedWorkers`
forks a few worker processes of the flow's process (its modules, the scatter plan and items
already in memory, shared copy-on-write) and runs module-level functions there.

A worker runs each call outside any Prefect run (a fresh ``contextvars`` context): it makes no
API calls, its ``run_logger()`` is the plain ``labflows`` logger, whose records (INFO and up) are
collected and logged again through the caller's run logger when the call returns, so they reach
the run log (the UI) as if the call had run in the caller's thread. Progress listeners (the
command line's display) are dropped in the workers; the caller reports what ended.

Sizes, from the environment: ``LABFLOWS_SCATTER_PROCESSES`` (worker processes of a scatter step:
``0`` never, ``N`` always N; default one per CPU for scatters of :data:`PROCESSES_FROM` branches or
more on a machine with two CPUs or more).
"""

from __future__ import annotations

import contextvars
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, TypeVar

from tasks.runtime import progress
from tasks.runtime.logs import run_logger

R = TypeVar("R")
PROCESSES_FROM = 2000  # default: scatters of this many branches or more use worker processes
_LOGGER = "labflows"  # run_logger() outside a run


def scatter_processes(total: int) -> int:
    """Worker processes for a scatter step of ``total`` branches; 0: run them in threads here.

    ``LABFLOWS_SCATTER_PROCESSES`` decides when set; else one per CPU for :data:`PROCESSES_FROM`
    branches or more when the machine has two CPUs or more and can fork.
    """
    raw = os.environ.get("LABFLOWS_SCATTER_PROCESSES", "").strip()
    if raw:
        try:
            return max(0, int(raw))
        except ValueError:
            pass
    cpus = os.cpu_count() or 1
    return cpus if cpus >= 2 and total >= PROCESSES_FROM and hasattr(os, "fork") else 0


class _Collect(logging.Handler):
    """Keeps ``(level, message)`` of every record it sees."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, record.getMessage()))


def _worker_started() -> None:
    """In a new worker: no progress listeners (they belong to the parent's display), a fresh lock
    (another thread of the parent may have held it at the fork)."""
    progress.forget_listeners()


def _isolated(fn: Callable[..., R], args: tuple) -> tuple[R, list[tuple[int, str]]]:
    """``fn(*args)`` outside any Prefect run; its result and the log records it made."""
    logger = logging.getLogger(_LOGGER)
    collect = _Collect()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(collect)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the parent's console handlers were inherited: the parent logs them
    try:
        result = contextvars.Context().run(fn, *args)
    finally:
        logger.removeHandler(collect)
        logger.setLevel(level)
        logger.propagate = propagate
    return result, collect.records


class ForkedWorkers:
    """``workers`` forked processes that run module-level functions (see the module docstring).

    Forked at construction, from the calling thread, so the workers start from the state the
    caller has then. A worker that dies (killed, out of memory) breaks the pool: that call and
    every later one raise :class:`concurrent.futures.process.BrokenProcessPool`.
    """

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_worker_started)
        self._pool.submit(int).result()  # fork every worker now (a fork context starts them all at once)

    def call(self, fn: Callable[..., R], *args: Any) -> R:
        """``fn(*args)`` in a worker, waited for; the records it logged are logged here again.

        ``fn`` and ``args`` are pickled (``fn`` by name: a module-level function), and so is the
        result. An exception of ``fn`` (or a broken pool) is raised here.
        """
        result, records = self._pool.submit(_isolated, fn, args).result()
        if records:
            logger = run_logger()
            for level, message in records:
                logger.log(level, "%s", message)
        return result

    def close(self) -> None:
        """Wait for running calls, drop queued ones and let the workers exit."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "ForkedWorkers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self):
        raise TypeError("ForkedWorkers stay in the process that forked them")
