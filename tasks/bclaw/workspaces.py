"""Step workspaces under the scratch folder, and sweeping up those of runs that died.

Each workspace holds an owner file (host and process id of the run that made it). A workspace
is removed when its step succeeds, and kept (marked so) when the step fails, for inspection.
A run killed mid-step leaves neither: the next run on this host removes such workspaces when
their owner process is gone. Workspaces of other hosts, of live processes, and kept ones stay.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

from tasks.runtime.processes import pid_alive

OWNER_FILE = ".labflows-owner"
KEPT_FILE = ".labflows-kept"


def new_workspace(scratch: Path, step_name: str) -> Path:
    """A fresh workspace ``<scratch>/<step>-XXXX`` owned by this process."""
    scratch.mkdir(parents=True, exist_ok=True)
    workspace = Path(tempfile.mkdtemp(prefix=f"{step_name}-", dir=scratch))
    (workspace / OWNER_FILE).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    return workspace


def keep_workspace(workspace: Path) -> None:
    """Mark a failed step's workspace as kept for inspection (no sweep removes it)."""
    (workspace / KEPT_FILE).touch()


def sweep_stale_workspaces(scratch: Path) -> list[Path]:
    """Remove the workspaces under ``scratch`` whose owner (on this host) has died; returns them."""
    host = socket.gethostname()
    removed = []
    for owner_file in scratch.glob(f"*/{OWNER_FILE}"):
        workspace = owner_file.parent
        try:
            owner = json.loads(owner_file.read_text())
            pid = int(owner["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if owner.get("host") != host or pid == os.getpid() or pid_alive(pid) or (workspace / KEPT_FILE).exists():
            continue
        shutil.rmtree(workspace, ignore_errors=True)
        removed.append(workspace)
    return removed
