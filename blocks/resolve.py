"""Choosing the repository a run uses: a saved block, a local folder, or the default folder."""

from __future__ import annotations

import importlib

from prefect.blocks.core import Block

from blocks.local import DEFAULT_STORAGE, LocalRepository
from blocks.repository import Repository


class RepositoryBlockNotFound(LookupError):
    """No saved block of a labflows repository type has the name asked for."""


def saved_repository_blocks() -> list[str]:
    """``SLUG/NAME`` of every saved labflows repository block, sorted."""
    from prefect.client.orchestration import get_client

    names: list[str] = []
    with get_client(sync_client=True) as client:
        for cls in _repository_types():
            slug = cls.get_block_type_slug()
            try:
                names += [f"{slug}/{doc.name}" for doc in client.read_block_documents_by_type(slug)]
            except Exception:  # the type was never registered on this server: nothing saved
                continue
    return sorted(names)


def load_repository(block_name: str | None = None, storage: str | None = None) -> Repository:
    """The repository for a run.

    ``block_name`` is a saved block: ``SLUG/NAME`` or just ``NAME`` (any labflows repository type);
    ``storage`` is a local folder; with neither, ``./.labflows/storage``.

    Raises:
        RepositoryBlockNotFound: No such block is saved (the message lists the saved ones).
    """
    if block_name:
        if "/" in block_name:
            _repository_types()  # Block.load finds a type only once its class is imported
            try:
                block = Block.load(block_name)
            except (ValueError, KeyError):
                raise RepositoryBlockNotFound(_not_found(block_name)) from None
        else:
            block = _load_by_name(block_name)
        if not isinstance(block, Repository):
            raise ValueError(f"block {block_name} is not a labflows repository")
        return block
    return LocalRepository(root=storage or DEFAULT_STORAGE)


def _repository_types() -> list[type[Repository]]:
    """Every repository block type (their modules imported first: ``blocks`` loads them lazily)."""
    import blocks

    for module in blocks.REPOSITORY_MODULES:
        importlib.import_module(module)
    return [cls for cls in Repository.__subclasses__() if getattr(cls, "_block_type_slug", None)]


def _not_found(name: str) -> str:
    saved = saved_repository_blocks()
    return (f"no saved repository block named {name!r}; saved: {', '.join(saved)}" if saved
            else f"no saved repository block named {name!r}; none is saved on this Prefect server")


def _load_by_name(name: str) -> Repository:
    for cls in _repository_types():
        try:
            return cls.load(name)
        except (ValueError, KeyError):
            continue
    raise RepositoryBlockNotFound(_not_found(name))
