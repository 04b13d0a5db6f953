"""Writing static inputs (text or bytes known at resolution time) without needless rewrites."""

from __future__ import annotations

import os
from pathlib import Path

from tasks.bfabric.inputs.resolved import ResolvedStaticFile
from tasks.runtime.logs import run_logger

__all__ = ["static_is_current", "write_static"]


def static_is_current(file: ResolvedStaticFile, path: Path) -> bool:
    """Whether ``path`` is a regular file holding exactly ``file``'s content.

    Raises ValueError when ``path`` is a directory (a static file cannot replace it).
    """
    if path.is_dir():
        raise ValueError(f"{file.filename}: a directory is in the way of this static file")
    if not path.is_file():
        return False
    data = file.data
    return path.stat().st_size == len(data) and path.read_bytes() == data


def write_static(file: ResolvedStaticFile, path: Path) -> bool:
    """Write ``file`` at ``path`` unless it already holds that content (so its mtime is kept).

    Returns True when the file was written. The new content goes to ``<path>.part`` first and is
    then renamed over ``path``.
    """
    if static_is_current(file, path):
        run_logger().info("%s: up to date", file.filename)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.write_bytes(file.data)
    os.replace(part, path)
    run_logger().info("%s: written", file.filename)
    return True
