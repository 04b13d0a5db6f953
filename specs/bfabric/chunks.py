"""chunks.yml: the chunk directories that dispatch produced, ``{chunks: [dir, ...]}``.

Entries may be relative (to the work directory that holds chunks.yml) or absolute, as in
bfabric-app-runner, but every chunk lies inside that work directory: no ``..``, an absolute
entry must be below it (``/etc`` is refused), and an empty entry or a NUL character is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, ValidationError

from specs.bfabric.common import LenientModel, model_from_doc, warn_ignored_keys
from specs.paths import escape_problem
from specs.source import SourceDoc, SpecError, format_path, load_yaml_file

__all__ = ["ChunkOutsideWorkDir", "ChunksSpec", "SCHEMA_MODEL", "chunks_from_doc", "inside_work_dir",
           "load_chunks", "write_chunks"]


class ChunkOutsideWorkDir(ValueError):
    """A chunk directory is not inside the work directory."""


def _chunk_dir(value: Path) -> Path:
    text = str(value)
    if not text or text == "." or "\0" in text:
        raise ValueError(f"must name a chunk directory, not {text!r}")
    problem = escape_problem(value.as_posix())
    if problem:
        raise ValueError(f"a chunk must stay inside the work directory: {problem} ({text!r})")
    return value


ChunkDir = Annotated[Path, AfterValidator(_chunk_dir)]
"""A chunk directory: relative, or absolute (then checked against the work directory)."""


def inside_work_dir(chunk: Path, work_dir: Path) -> bool:
    """True when ``chunk`` (relative entries anchored at ``work_dir``) is ``work_dir`` or below it."""
    work = Path(work_dir).absolute()
    path = chunk if chunk.is_absolute() else work / chunk
    return ".." not in path.parts and path.is_relative_to(work)


class ChunksSpec(LenientModel):
    """A chunks.yml (other keys: ignored, as bfabric-app-runner's ``ChunksFile`` does)."""

    chunks: list[ChunkDir]

    def resolved(self, work_dir: Path) -> list[Path]:
        """Chunk directories with relative entries anchored at ``work_dir``; one outside it is refused."""
        outside = [str(c) for c in self.chunks if not inside_work_dir(c, work_dir)]
        if outside:
            raise ChunkOutsideWorkDir(f"chunks outside the work directory {work_dir}: {', '.join(outside)}")
        return [c if c.is_absolute() else work_dir / c for c in self.chunks]


SCHEMA_MODEL = ChunksSpec


def chunks_from_doc(doc: SourceDoc) -> ChunksSpec:
    """Validate a chunks.yml document (absolute chunks must lie below its folder); raises SpecError."""
    spec = model_from_doc(doc, ChunksSpec)
    work_dir = Path(doc.file).absolute().parent
    problems = [doc.problem(("chunks", i), f"a chunk must be inside the work directory (the folder of chunks.yml), "
                                           f"not {str(c)!r}")
                for i, c in enumerate(spec.chunks) if not inside_work_dir(c, work_dir)]
    if problems:
        raise SpecError(problems)
    return spec


def load_chunks(path: str | Path) -> ChunksSpec:
    """Read and validate a chunks.yml; raises SpecError."""
    doc = load_yaml_file(path)
    spec = chunks_from_doc(doc)
    warn_ignored_keys(doc, spec)
    return spec


def write_chunks(path: str | Path, chunks: list[Path | str]) -> ChunksSpec:
    """Write a chunks.yml listing ``chunks`` as given (relative entries stay relative).

    Raises:
        ValueError: an entry is not a chunk directory inside the work directory; nothing is written.
    """
    try:
        spec = ChunksSpec(chunks=[Path(c) for c in chunks])
    except ValidationError as exc:
        reasons = "; ".join(f"{format_path(('chunks', *e['loc'][1:]))}: {e['msg'].removeprefix('Value error, ')}"
                            for e in exc.errors(include_url=False))
        raise ValueError(f"cannot write {path}: {reasons}") from None
    outside = [str(c) for c in spec.chunks if not inside_work_dir(c, Path(path).parent)]
    if outside:
        raise ChunkOutsideWorkDir(f"cannot write {path}: chunks outside the work directory: {', '.join(outside)}")
    Path(path).write_text(yaml.safe_dump({"chunks": [str(c) for c in spec.chunks]}, sort_keys=False),
                          encoding="utf-8")
    return spec
