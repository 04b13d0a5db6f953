"""How an app run reaches B-Fabric: a saved credentials block, or the usual bfabricpy configuration.

A :class:`BfabricConnection` is shared by every task of one app run. It hands out one client per
thread (chunks run in threads, and a suds client is not meant to be shared between them), loads
the credentials block from Prefect only once, and keeps what every chunk would otherwise read
again (:meth:`~BfabricConnection.once`: the output storage).

App commands (dispatch, process, collect) are separate programs that may talk to B-Fabric
themselves. Without a block they read the same configuration the flow does (``~/.bfabricpy.yml``,
``BFABRICPY_CONFIG_ENV``, ``BFABRICPY_CONFIG_OVERRIDE``: the environment is inherited). With a
block, :meth:`~BfabricConnection.command_env` gives them ``BFABRICPY_CONFIG_OVERRIDE`` built from
it; the value only ever travels in a child's environment, it is never logged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from blocks.bfabric import BfabricCredentials
from tasks.bfabric.client import bfabric_client

if TYPE_CHECKING:
    from bfabric import Bfabric

__all__ = ["CONFIG_OVERRIDE_ENV", "BfabricConnection"]

T = TypeVar("T")

#: The variable the bfabric client reads a complete configuration from (it replaces the config file).
CONFIG_OVERRIDE_ENV = "BFABRICPY_CONFIG_OVERRIDE"


class BfabricConnection:
    """Clients for one app run, from ``credentials_block`` (a saved BfabricCredentials) or the usual config.

    Args:
        credentials_block: name of a saved :class:`blocks.bfabric.BfabricCredentials` block; None
            uses ``~/.bfabricpy.yml`` / ``BFABRICPY_CONFIG_ENV`` / ``BFABRICPY_CONFIG_OVERRIDE``.
    """

    def __init__(self, credentials_block: str | None = None) -> None:
        self.credentials_block = credentials_block or None
        self._block: BfabricCredentials | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._once: dict[Hashable, Any] = {}
        self._once_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BfabricConnection(credentials_block={self.credentials_block!r})"

    def _credentials(self) -> BfabricCredentials | None:
        if self.credentials_block is None:
            return None
        with self._lock:
            if self._block is None:
                self._block = BfabricCredentials.load(self.credentials_block)
            return self._block

    def client(self) -> Bfabric:
        """A real ``bfabric.Bfabric`` client, made once per thread."""
        client = getattr(self._local, "client", None)
        if client is None:
            block = self._credentials()
            client = block.get_client() if block is not None else bfabric_client(None)
            self._local.client = client
        return client

    def once(self, key: Hashable, load: Callable[[], T]) -> T:
        """``load()``, called only the first time ``key`` is asked for on this connection (one app run).

        For B-Fabric entities that do not change during a run and that every chunk needs; threads
        asking at the same time wait for the first one's answer. A failed ``load`` is not kept.
        """
        with self._once_lock:
            if key not in self._once:
                self._once[key] = load()
            return self._once[key]

    def command_env(self) -> dict[str, str]:
        """Environment variables that point an app command's own bfabric client at the same instance.

        Empty without a credentials block (the command inherits the flow's configuration).
        """
        block = self._credentials()
        if block is None:
            return {}
        override = {"client": {"base_url": block.base_url},
                    "auth": {"login": block.login, "password": block.password.get_secret_value()}}
        return {CONFIG_OVERRIDE_ENV: json.dumps(override)}
