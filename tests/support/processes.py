"""Stopping the background processes that tests and benches start (Prefect servers, workers, the
launcher's watcher, the stand-in): each started with ``start_new_session=True``."""

from __future__ import annotations

import signal
import subprocess

from tasks.runtime.streaming import terminate_group


def stop_group(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGINT to the process group of ``proc``, SIGKILL after ``grace_s`` seconds; no-op when it has exited.

    SIGINT, not SIGTERM: a Prefect worker ignores its first SIGTERM, and on SIGINT a server or
    worker shuts down in order (its flow-run processes too, which are in the same group).
    """
    terminate_group(proc, grace_s, first_signal=signal.SIGINT)
