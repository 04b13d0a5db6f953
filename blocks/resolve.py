"""Choosing the repository a run uses: a saved block, a local folder, or the default folder."""

from __future__ import annotations

from prefect.blocks.core import Block

from blocks.local import DEFAULT_STORAGE, LocalRepository
from blocks.repository import Repository


def load_repository(block_name: str | None = None, storage: str | None = None) -> Repository:
    """The repository for a run.

    ``block_name`` is a saved block: ``SLUG/NAME`` or just ``NAME`` (any labflows repository type);
    ``storage`` is a local folder; with neither, ``./.labflows/storage``.
    """
    if block_name:
        if "/" in block_name:
            block = Block.load(block_name)
        else:
            block = _load_by_name(block_name)
        if not isinstance(block, Repository):
            raise ValueError(f"block {block_name} is not a labflows repository")
        return block
    return LocalRepository(root=storage or DEFAULT_STORAGE)


def _load_by_name(name: str) -> Repository:
    for cls in Repository.__subclasses__():
        slug = getattr(cls, "_block_type_slug", None)
        if not slug:
            continue
        try:
            return cls.load(name)
        except (ValueError, KeyError):
            continue
    raise ValueError(f"no saved repository block named {name!r}")
