"""Progress of large file transfers (staging to and from a repository, B-Fabric input fetches).

A transfer of a file of at least :func:`threshold` bytes reports ``transfer`` events through
:mod:`tasks.runtime.progress` (bytes done of total, at its start, at each hundredth and at its
end), which the command line shows next to the steps; smaller files report nothing, so a
scatter of many small files costs no events.
"""

from __future__ import annotations

import os
import threading
from typing import Callable

from tasks.runtime.progress import ProgressEvent, report

THRESHOLD_ENV = "LABFLOWS_TRANSFER_PROGRESS_BYTES"  # tests set a low one
DEFAULT_THRESHOLD = 64 << 20  # 64 MiB: a smaller file moves in about a second on a local disk
STEPS = 100  # a watched transfer reports at most this many times (plus its start)

Reporter = Callable[[int, int], None]


def threshold() -> int:
    """The size from which a transfer reports its progress (``LABFLOWS_TRANSFER_PROGRESS_BYTES``,
    else 64 MiB; a value that is not a non-negative whole number counts as unset)."""
    value = os.environ.get(THRESHOLD_ENV, "").strip()
    return int(value) if value.isdigit() else DEFAULT_THRESHOLD


def transfer_reporter(direction: str, name: str) -> Reporter:
    """A ``(bytes done, bytes total)`` callback reporting the transfer of ``name`` as the
    ``transfer`` event ``"<direction> <name>"`` once its total reaches :func:`threshold`.

    Args:
        direction: ``download`` or ``upload``.
        name: what the user recognises: the file name.
    """
    label = f"{direction} {name}"
    lock = threading.Lock()
    last = [-1]  # the hundredth last reported

    def tell(done: int, total: int) -> None:
        if total < threshold() or total <= 0:
            return
        step = STEPS * min(done, total) // total
        with lock:
            if step == last[0]:
                return
            last[0] = step
        state = "done" if done >= total else "running"
        report(ProgressEvent("transfer", label, state=state, done=done, total=total, detail=direction))

    return tell


def progress_for(direction: str, uri: str) -> Reporter:
    """The reporter of one repository transfer (a ``blocks.repository.ProgressFor``), named by
    the object's file name."""
    return transfer_reporter(direction, uri.rstrip("/").rsplit("/", 1)[-1])
