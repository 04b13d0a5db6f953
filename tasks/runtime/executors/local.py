"""The ``local`` executor: the program runs on this host, in the invocation's folder."""

from __future__ import annotations

import functools
import shutil
import subprocess

from tasks.runtime.executors.base import Executor, Invocation


class LocalExecutor(Executor):
    """Run the argv as it is (no container; image, mounts and limits are ignored)."""

    name = "local"
    uses_image = False

    def argv(self, inv: Invocation) -> list[str]:
        """``inv.argv`` unchanged."""
        return list(inv.argv)


@functools.cache
def host_sh_has_pipefail() -> bool:
    """Whether this host's ``sh`` accepts ``-o pipefail`` (dash, Debian's ``/bin/sh``, does not).

    Asked once per process: the answer is a property of the host.
    """
    try:
        probe = subprocess.run(["sh", "-c", "set -o pipefail"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def posix_pipefail_shell() -> list[str] | None:
    """``sh -o pipefail`` where ``sh`` lacks it: bash in POSIX mode (None when there is no bash)."""
    return ["bash", "--posix"] if shutil.which("bash") else None
