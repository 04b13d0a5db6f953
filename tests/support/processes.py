"""Stopping the background processes that tests and benches start (Prefect servers, workers, the
launcher's watcher, the stand-in): each started with ``start_new_session=True``."""

from __future__ import annotations

import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from tasks.runtime.streaming import terminate_group


def stop_group(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGINT to the process group of ``proc``, SIGKILL after ``grace_s`` seconds; no-op when it has exited.

    SIGINT, not SIGTERM: a Prefect worker ignores its first SIGTERM, and on SIGINT a server or
    worker shuts down in order (its flow-run processes too, which are in the same group).
    """
    terminate_group(proc, grace_s, first_signal=signal.SIGINT)


def stop_groups(procs: Sequence[subprocess.Popen], grace_s: float = 15.0) -> None:
    """:func:`stop_group` for each of ``procs`` at the same time: they shut down side by side, so
    the slowest one, not their sum, is waited for (each still gets ``grace_s`` before SIGKILL)."""
    if not procs:
        return
    with ThreadPoolExecutor(max_workers=len(procs)) as pool:
        list(pool.map(lambda proc: stop_group(proc, grace_s), procs))
