"""One workflow run per repository at a time: ``<repo>/_control_/_RUN_LOCK_``.

A second run of the same repository would run every step again beside the first and overwrite
its job data. The lock is created atomically (a hard link locally, a conditional put on S3); a
run that finds it refuses with one line naming the run that holds it. A lock left by a process
that died on this host is taken over; one from another host must be removed by hand (the
message says which object).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from blocks.repository import ObjectNotFound, Repository, join_uri
from tasks.bclaw.context import CONTROL_DIR
from tasks.runtime.failures import ExpectedFailure
from tasks.runtime.logs import run_logger
from tasks.runtime.processes import pid_alive
from tasks.runtime.repo_ops import create_exclusive

LOCK_NAME = "_RUN_LOCK_"


class RepositoryBusy(ExpectedFailure, RuntimeError):
    """Another run holds the repository's lock."""


def _holder(repo: Repository, uri: str) -> dict | None:
    try:
        return json.loads(repo.read_text(uri))
    except ObjectNotFound:
        return None
    except ValueError:
        return {}


def _describe(holder: dict) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder.get("started", 0)))
    return (f"run {holder.get('run_name') or '?'} (pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
            f"since {started})")


@contextmanager
def repository_lock(repo: Repository, repo_uri: str, run_name: str = "") -> Iterator[None]:
    """Hold the repository's run lock while the body runs.

    Raises:
        RepositoryBusy: another live run holds it (the message names that run and the lock object).
    """
    uri = join_uri(repo_uri, CONTROL_DIR, LOCK_NAME)
    mine = {"host": socket.gethostname(), "pid": os.getpid(), "run_name": run_name, "started": time.time()}
    data = json.dumps(mine).encode()
    if not create_exclusive(repo, uri, data):
        holder = _holder(repo, uri)
        stale = holder is not None and holder.get("host") == mine["host"] and not pid_alive(int(holder.get("pid", 0)))
        if holder is None or stale:
            if stale:
                run_logger().warning("taking over the lock of %s, which ended without releasing it", _describe(holder))
                repo.delete(uri)
            if not create_exclusive(repo, uri, data):
                holder = _holder(repo, uri) or {}
                raise RepositoryBusy(f"repository {repo_uri} is in use by {_describe(holder)}")
        else:
            raise RepositoryBusy(f"repository {repo_uri} is in use by {_describe(holder)}; wait for it to end, "
                                 f"or delete {uri} if that run is gone")
    try:
        yield
    finally:
        if _holder(repo, uri) == mine:
            repo.delete(uri)
