"""The state of prepared inputs: Missing, NotChecked, Correct or Incorrect.

* a fetched file: its MD5 against the known checksum (NotChecked without one);
* a static file: its content against the resolved content;
* a directory: it must exist and not be empty, and the cached zip's MD5 must match the
  checksum (NotChecked without a checksum or without the cached zip).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from tasks.bfabric.checksums import md5_file
from tasks.bfabric.inputs.resolved import (
    ResolvedDirectory,
    ResolvedFile,
    ResolvedInput,
    ResolvedStaticFile,
)

__all__ = ["FileStatus", "file_status"]


class FileStatus(str, Enum):
    """The state of one prepared input."""

    MISSING = "Missing"
    NOT_CHECKED = "NotChecked"
    CORRECT = "Correct"
    INCORRECT = "Incorrect"

    def __str__(self) -> str:
        return self.value


def _checksum_status(path: Path, checksum: str | None) -> FileStatus:
    if checksum is None:
        return FileStatus.NOT_CHECKED
    return FileStatus.CORRECT if md5_file(path) == checksum.lower() else FileStatus.INCORRECT


def file_status(item: ResolvedInput, target_dir: Path) -> FileStatus:
    """The state of ``item`` below ``target_dir``."""
    path = target_dir / item.filename
    if not path.exists():
        return FileStatus.MISSING
    if isinstance(item, ResolvedStaticFile):
        if not path.is_file():
            return FileStatus.INCORRECT
        return FileStatus.CORRECT if path.read_bytes() == item.data else FileStatus.INCORRECT
    if isinstance(item, ResolvedDirectory):
        if not path.is_dir() or not any(path.iterdir()):
            return FileStatus.INCORRECT
        archive = target_dir / item.archive_filename
        if not archive.is_file():
            return FileStatus.NOT_CHECKED
        return _checksum_status(archive, item.checksum)
    assert isinstance(item, ResolvedFile)
    if not path.is_file():
        return FileStatus.INCORRECT
    return _checksum_status(path, item.checksum)
