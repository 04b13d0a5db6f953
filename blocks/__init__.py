"""labflows Prefect blocks: repositories and B-Fabric credentials.

``prefect block register -m blocks`` registers every block type defined here. The classes are
imported on first use (PEP 562), so that ``from blocks.local import …`` does not import the S3
backend (boto3, prefect-aws) or the B-Fabric client: a command pays only for what it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blocks.bfabric import BfabricCredentials
    from blocks.local import LocalRepository
    from blocks.repository import Repository
    from blocks.s3 import S3Repository

#: Every block class, by the module that defines it.
BLOCK_MODULES = {
    "BfabricCredentials": "blocks.bfabric",
    "LocalRepository": "blocks.local",
    "Repository": "blocks.repository",
    "S3Repository": "blocks.s3",
}

__all__ = ["BLOCK_MODULES", "BfabricCredentials", "LocalRepository", "Repository", "S3Repository",
           "import_all_blocks"]


def __getattr__(name: str) -> Any:
    if name in BLOCK_MODULES:
        return getattr(importlib.import_module(BLOCK_MODULES[name]), name)
    raise AttributeError(f"module 'blocks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def import_all_blocks() -> None:
    """Import every block module, so that Prefect can load any saved labflows block by its slug."""
    for module in sorted(set(BLOCK_MODULES.values())):
        importlib.import_module(module)
