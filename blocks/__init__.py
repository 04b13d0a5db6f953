"""labflows Prefect blocks: repositories and B-Fabric credentials.

``prefect block register -m blocks`` registers every block type defined here.

The classes are imported on first use (PEP 562): ``S3Repository`` brings in prefect-aws and
boto3, about a second of imports on a busy 2-core machine, which a flow run on a local folder, the
CLI's parsing and every ``from blocks.local import …`` would otherwise pay at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BfabricCredentials": "blocks.bfabric",
    "LocalRepository": "blocks.local",
    "Repository": "blocks.repository",
    "S3Repository": "blocks.s3",
}
#: modules defining repository block types (imported before a saved block is looked up by name)
REPOSITORY_MODULES = ("blocks.local", "blocks.s3")

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'blocks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
