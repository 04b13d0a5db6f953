"""chunks.yml: the chunk directories that dispatch produced, ``{chunks: [dir, ...]}``.

Entries are relative to the work directory that holds chunks.yml and must stay inside it: an
absolute path (``/etc``), ``..``, an empty entry or a NUL character is refused. (bfabric-app-runner
also accepts absolute entries; a chunks.yml is read from a work directory that job code wrote,
so labflows keeps chunk folders inside it.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, ValidationError

from specs.bfabric.common import StrictModel, load_model, model_from_doc
from specs.source import SourceDoc, format_path

__all__ = ["ChunksSpec", "SCHEMA_MODEL", "chunks_from_doc", "load_chunks", "write_chunks"]


def _chunk_dir(value: Path) -> Path:
    text = str(value)
    if not text or text == "." or "\0" in text:
        raise ValueError(f"must name a chunk directory, not {text!r}")
    if value.is_absolute():
        raise ValueError(f"must be a directory inside the work directory, not the absolute path {text!r}")
    if ".." in value.parts:
        raise ValueError(f"must not leave the work directory ('..' in {text!r})")
    return value


ChunkDir = Annotated[Path, AfterValidator(_chunk_dir)]
"""A chunk directory below the work directory."""


class ChunksSpec(StrictModel):
    """A chunks.yml."""

    chunks: list[ChunkDir]

    def resolved(self, work_dir: Path) -> list[Path]:
        """Chunk directories anchored at ``work_dir``."""
        return [work_dir / c for c in self.chunks]


SCHEMA_MODEL = ChunksSpec


def chunks_from_doc(doc: SourceDoc) -> ChunksSpec:
    """Validate a chunks.yml document; raises SpecError."""
    return model_from_doc(doc, ChunksSpec)


def load_chunks(path: str | Path) -> ChunksSpec:
    """Read and validate a chunks.yml; raises SpecError."""
    return load_model(path, ChunksSpec)


def write_chunks(path: str | Path, chunks: list[Path | str]) -> ChunksSpec:
    """Write a chunks.yml listing ``chunks`` (relative to its folder).

    Raises:
        ValueError: an entry is not a directory inside the work directory; nothing is written.
    """
    try:
        spec = ChunksSpec(chunks=[Path(c) for c in chunks])
    except ValidationError as exc:
        reasons = "; ".join(f"{format_path(('chunks', *e['loc'][1:]))}: {e['msg'].removeprefix('Value error, ')}"
                            for e in exc.errors(include_url=False))
        raise ValueError(f"cannot write {path}: {reasons}") from None
    Path(path).write_text(yaml.safe_dump({"chunks": [str(c) for c in spec.chunks]}, sort_keys=False),
                          encoding="utf-8")
    return spec
