"""Getting a real ``bfabric.Bfabric`` client: from a credentials block, or from the usual bfabricpy configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from blocks.bfabric import BfabricCredentials, quiet_suds_logging

if TYPE_CHECKING:
    from bfabric import Bfabric


def bfabric_client(credentials_block_name: str | None = None) -> Bfabric:
    """A B-Fabric client.

    Args:
        credentials_block_name: name of a saved :class:`blocks.bfabric.BfabricCredentials` block.
            Without it, the client is configured the way ``bfabricpy`` always is:
            ``BFABRICPY_CONFIG_OVERRIDE`` if set, else ``~/.bfabricpy.yml`` with the environment named
            by ``BFABRICPY_CONFIG_ENV`` or the file's default.

    Example:
        ```python
        from tasks.bfabric.client import bfabric_client

        client = bfabric_client("fgcz-bfabric")   # or bfabric_client() for ~/.bfabricpy.yml
        ```
    """
    if credentials_block_name:
        block = BfabricCredentials.load(credentials_block_name)
        return block.get_client()
    from bfabric import Bfabric

    quiet_suds_logging()
    return Bfabric.connect()
