"""Extracting a zip input into its directory, with include/exclude filters and ``strip_root``.

``strip_root`` removes the archive's top-level directory only when every member lies below one
single directory; otherwise the members are extracted as they are. Filters
(:mod:`tasks.bfabric.inputs.patterns`) apply to the paths as they end up below the directory,
that is after ``strip_root``. Members with absolute paths or ``..`` are refused. The archive
is extracted into a fresh sibling directory that then replaces the old one, so a failed
extraction leaves the previous content in place.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import Sequence

from tasks.bfabric.inputs.patterns import is_selected
from tasks.bfabric.inputs.resolved import InputsError

__all__ = ["ArchiveError", "extract_zip", "member_paths"]


class ArchiveError(InputsError):
    """The archive is not a readable zip, or has members that would land outside its directory."""


def _safe_parts(name: str) -> tuple[str, ...]:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise ArchiveError(f"archive member {name!r} would be written outside the directory")
    return tuple(p for p in path.parts if p not in ("", "."))


def member_paths(names: Sequence[str], strip_root: bool) -> dict[str, str]:
    """Archive file members -> their path below the directory (directory entries left out)."""
    files = {name: _safe_parts(name) for name in names if not name.endswith("/")}
    files = {name: parts for name, parts in files.items() if parts}
    roots = {parts[0] for parts in files.values()}
    strip = strip_root and len(roots) == 1 and all(len(parts) > 1 for parts in files.values())
    return {name: "/".join(parts[1:] if strip else parts) for name, parts in files.items()}


def _fresh_staging(directory: Path) -> Path:
    """An empty sibling directory to extract into (created with the usual permissions)."""
    staging = directory.with_name(f".{directory.name}.extracting-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def extract_zip(archive: Path, directory: Path, include: Sequence[str] = (), exclude: Sequence[str] = (),
                strip_root: bool = False) -> list[str]:
    """Extract the selected members of ``archive`` into ``directory``; returns their relative paths.

    ``directory`` is replaced as a whole, except when it is the directory holding the archive
    (an input extracted into ``.``): then the members are written into it in place.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            selected = {name: rel for name, rel in member_paths(zf.namelist(), strip_root).items()
                        if is_selected(rel, include, exclude)}
            in_place = directory.resolve() == archive.parent.resolve()
            directory.parent.mkdir(parents=True, exist_ok=True)
            staging = directory if in_place else _fresh_staging(directory)
            try:
                for name, rel in selected.items():
                    out = staging / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(name) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
            except BaseException:
                if not in_place:
                    shutil.rmtree(staging, ignore_errors=True)
                raise
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{archive.name}: not a zip archive ({exc})") from None
    if not in_place:
        if directory.is_symlink() or directory.is_file():
            directory.unlink()
        elif directory.exists():
            shutil.rmtree(directory)
        os.replace(staging, directory)
    return sorted(selected.values())
