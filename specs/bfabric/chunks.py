"""chunks.yml: the chunk directories that dispatch produced, ``{chunks: [dir, ...]}``.

Entries may be relative (to the work directory that holds chunks.yml) or absolute.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from specs.bfabric.common import StrictModel, load_model, model_from_doc
from specs.source import SourceDoc

__all__ = ["ChunksSpec", "SCHEMA_MODEL", "chunks_from_doc", "load_chunks", "write_chunks"]


class ChunksSpec(StrictModel):
    """A chunks.yml."""

    chunks: list[Path]

    def resolved(self, work_dir: Path) -> list[Path]:
        """Chunk directories with relative entries anchored at ``work_dir``."""
        return [c if c.is_absolute() else work_dir / c for c in self.chunks]


SCHEMA_MODEL = ChunksSpec


def chunks_from_doc(doc: SourceDoc) -> ChunksSpec:
    """Validate a chunks.yml document; raises SpecError."""
    return model_from_doc(doc, ChunksSpec)


def load_chunks(path: str | Path) -> ChunksSpec:
    """Read and validate a chunks.yml; raises SpecError."""
    return load_model(path, ChunksSpec)


def write_chunks(path: str | Path, chunks: list[Path | str]) -> ChunksSpec:
    """Write a chunks.yml listing ``chunks`` as given (relative entries stay relative)."""
    spec = ChunksSpec(chunks=[Path(c) for c in chunks])
    Path(path).write_text(yaml.safe_dump({"chunks": [str(c) for c in spec.chunks]}, sort_keys=False),
                          encoding="utf-8")
    return spec
