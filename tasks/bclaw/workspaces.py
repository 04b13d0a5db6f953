"""Step workspaces under the scratch folder, and sweeping up those of runs that died.

A workspace's name says who made it: ``<step>-<pid>@<host>-XXXXXXXX`` (no owner file to write,
one file fewer per scatter branch). Workspaces of earlier versions carry an owner file (host and
process id as JSON) instead; the sweep reads both. A workspace is removed when its step
succeeds, and kept (marked so) when the step fails, for inspection. A run killed mid-step leaves
neither: the next run on this host removes such workspaces when their owner process is gone.
Workspaces of other hosts, of live processes, and kept ones stay.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from tasks.runtime.processes import pid_alive

OWNER_FILE = ".labflows-owner"  # earlier versions' owner record; read by the sweep, no longer written
KEPT_FILE = ".labflows-kept"
# <step>-<pid>@<host>-<mkdtemp's suffix>: the suffix has no '-' or '@', a host name no '@'
_OWNED_NAME = re.compile(r"-(\d+)@([^@/]+)-[a-z0-9_]+$")


@functools.cache
def _host() -> str:
    """This host's name (asked once per process)."""
    return socket.gethostname()


def new_workspace(scratch: Path, step_name: str) -> Path:
    """A fresh workspace ``<scratch>/<step>-<pid>@<host>-XXXXXXXX`` owned by this process.

    ``scratch`` is made when missing (only then: one ``mkdir`` fewer per scatter branch).
    """
    prefix = f"{step_name}-{os.getpid()}@{_host()}-"  # the pid read now: forked workers have their own
    try:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch))
    except FileNotFoundError:
        scratch.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=scratch))


def workspace_owner(workspace: Path) -> tuple[str, int] | None:
    """``(host, pid)`` of the process that made ``workspace``: from its name, else from the owner
    file of an earlier version's workspace; None when neither says (not a workspace)."""
    found = _OWNED_NAME.search(workspace.name)
    if found:
        return found.group(2), int(found.group(1))
    try:
        owner = json.loads((workspace / OWNER_FILE).read_text())
        return str(owner["host"]), int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def keep_workspace(workspace: Path) -> None:
    """Mark a failed step's workspace as kept for inspection (no sweep removes it)."""
    (workspace / KEPT_FILE).touch()


def sweep_stale_workspaces(scratch: Path) -> list[Path]:
    """Remove the workspaces under ``scratch`` whose owner (on this host) has died; returns them."""
    host = _host()
    removed = []
    try:
        entries = sorted(scratch.iterdir())
    except OSError:
        return removed
    for workspace in entries:
        if not workspace.is_dir() or workspace.is_symlink():
            continue
        owner = workspace_owner(workspace)
        if owner is None:
            continue
        owner_host, pid = owner
        if owner_host != host or pid == os.getpid() or pid_alive(pid) or (workspace / KEPT_FILE).exists():
            continue
        shutil.rmtree(workspace, ignore_errors=True)
        removed.append(workspace)
    return removed
