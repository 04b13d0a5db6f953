"""File checksums as B-Fabric stores them (``filechecksum``: hex MD5)."""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK = 1 << 20


def md5_file(path: Path) -> str:
    """The hex MD5 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
