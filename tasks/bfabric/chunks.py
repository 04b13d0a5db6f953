"""The chunks of a work directory, and the guard around an app's dispatch step.

* :meth:`ChunksFile.read` lists the chunk directories from ``chunks.yml``; when the file is
  missing it discovers ``work_dir/*/inputs.yml`` (one level deep, sorted), writes chunks.yml
  and raises "No chunks found" if nothing matches.
* :meth:`ChunksFile.needs_dispatch` tells whether dispatch has to (re-)run: a chunk listed in
  chunks.yml has lost its inputs.yml, or there is no chunks.yml and nothing can be discovered.
* :func:`write_chunk_definition` gives a chunk its own ``workunit_definition.yml`` (a copy of the
  workunit's), as bfabric-app-runner's outputs step leaves one in every chunk it registers.
* :func:`workunit_definition_guard` keeps ``workunit_definition.yml`` as it was before dispatch:
  if dispatch changed it, a warning is logged, the changed file is kept as
  ``workunit_definition.yml.bak`` and the original is restored.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from specs.bfabric.chunks import (
    ChunkOutsideWorkDir,
    inside_work_dir,
    load_chunks,
    write_chunks,
)
from specs.bfabric.workunit import WorkunitDefinition, save_workunit_definition
from tasks.runtime.logs import run_logger

__all__ = ["CHUNKS_FILE", "WORKUNIT_DEFINITION_FILE", "ChunksFile", "NoChunksFoundError",
           "workunit_definition_guard", "write_chunk_definition"]

CHUNKS_FILE = "chunks.yml"
WORKUNIT_DEFINITION_FILE = "workunit_definition.yml"


def write_chunk_definition(definition: WorkunitDefinition, chunk_dir: Path) -> Path:
    """``chunk_dir/workunit_definition.yml`` holding ``definition``, written unless it exists; its path.

    bfabric-app-runner resolves the workunit once more for each chunk's outputs step, caching it
    in the chunk directory in the same format as the work directory's file; an existing file is
    kept, as upstream's cache is.
    """
    path = Path(chunk_dir) / WORKUNIT_DEFINITION_FILE
    if not path.exists():
        save_workunit_definition(definition, path)
    return path


class NoChunksFoundError(RuntimeError):
    """A work directory has no chunks.yml and no ``*/inputs.yml`` to discover."""


class ChunksFile:
    """Reading, discovering and writing ``<work_dir>/chunks.yml``."""

    @staticmethod
    def path(work_dir: Path) -> Path:
        """Where chunks.yml lives."""
        return Path(work_dir) / CHUNKS_FILE

    @staticmethod
    def discover(work_dir: Path) -> list[Path]:
        """Directories directly below ``work_dir`` that hold an inputs.yml, sorted by name."""
        return sorted(p.parent for p in Path(work_dir).glob("*/inputs.yml") if p.is_file())

    @staticmethod
    def write(work_dir: Path, chunks: list[Path]) -> None:
        """Write chunks.yml with every chunk relative to ``work_dir``; a chunk outside it is refused
        (:class:`~specs.bfabric.chunks.ChunkOutsideWorkDir`) and nothing is written."""
        work = Path(work_dir).absolute()
        outside = [str(c) for c in chunks if not inside_work_dir(Path(c), work)]
        if outside:
            raise ChunkOutsideWorkDir(f"dispatch returned chunks outside the work directory {work}: "
                                      f"{', '.join(outside)}")
        entries = [(Path(c) if Path(c).is_absolute() else work / c).relative_to(work) for c in chunks]
        write_chunks(ChunksFile.path(work), entries)

    @classmethod
    def read(cls, work_dir: Path) -> list[Path]:
        """The chunk directories (absolute), discovering and writing chunks.yml if it is missing."""
        work = Path(work_dir).absolute()
        if cls.path(work).exists():
            return load_chunks(cls.path(work)).resolved(work)
        found = cls.discover(work)
        if not found:
            raise NoChunksFoundError(f"No chunks found in {work}: no {CHUNKS_FILE} and no */inputs.yml")
        cls.write(work, found)
        return found

    @classmethod
    def needs_dispatch(cls, work_dir: Path) -> bool:
        """True when dispatch must run before the chunks can be processed."""
        work = Path(work_dir).absolute()
        if cls.path(work).exists():
            chunks = load_chunks(cls.path(work)).resolved(work)
            return any(not (chunk / "inputs.yml").is_file() for chunk in chunks)
        return not cls.discover(work)


@contextlib.contextmanager
def workunit_definition_guard(work_dir: Path) -> Iterator[None]:
    """Restore ``workunit_definition.yml`` after the block if the block changed it.

    The changed version is saved next to it as ``workunit_definition.yml.bak``. Nothing is
    guarded when the file does not exist before the block.
    """
    path = Path(work_dir) / WORKUNIT_DEFINITION_FILE
    original = path.read_bytes() if path.is_file() else None
    try:
        yield
    finally:
        if original is not None:
            current = path.read_bytes() if path.is_file() else None
            if current != original:
                backup = path.with_name(path.name + ".bak")
                run_logger().warning(
                    "%s was modified by dispatch; the modified file is saved as %s and the original restored",
                    path, backup.name)
                if current is not None:
                    backup.write_bytes(current)
                path.write_bytes(original)
