"""The ``local`` executor: the program runs on this host, in the invocation's folder."""

from __future__ import annotations

from tasks.runtime.executors.base import Executor, Invocation


class LocalExecutor(Executor):
    """Run the argv as it is (no container; image, mounts and limits are ignored)."""

    name = "local"
    uses_image = False

    def argv(self, inv: Invocation) -> list[str]:
        """``inv.argv`` unchanged."""
        return list(inv.argv)
