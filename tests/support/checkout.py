"""A copy of the checkout as a fresh clone has it, for tests and benches that deploy from it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.paths import REPO_ROOT


def fresh_checkout(dest: Path, source: Path = REPO_ROOT) -> Path:
    """Copy the files of ``source`` that a clone of it would have into ``dest``; returns ``dest``.

    That is the tracked files and the new ones git does not ignore (work in progress is deployed
    too), but nothing git ignores: no ``.labflows/``, no ``.venv``, no caches.

    Args:
        dest: The folder to copy into (created as needed).
        source: The git checkout to copy (this one by default).
    """
    listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=source, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        if (source / rel).is_file():  # a deleted but still tracked file is listed too
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / rel, dest / rel)
    return dest
