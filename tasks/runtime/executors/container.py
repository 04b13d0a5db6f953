"""Container executors: ``docker run`` and ``podman run`` with one option order.

Order: ``ENGINE run --user UID:GID --rm [--init]``, mounts, ``--workdir``, ``--entrypoint``,
limits (``--cpus``, ``--memory``, ``--gpus``), ``--env`` (names of ``env``, then ``env_args``),
``engine_args``, the image, the argv. The container runs as the calling user, so files it writes
in a bind-mounted folder belong to that user.
"""

from __future__ import annotations

import os

from tasks.runtime.executors.base import Executor, Invocation


class ContainerExecutor(Executor):
    """A docker-compatible container engine named by ``program``."""

    def __init__(self, program: str):
        self.name = program
        self.program = program

    def argv(self, inv: Invocation) -> list[str]:
        """The ``<engine> run …`` argv for ``inv`` (see the module docstring for the order)."""
        argv = [self.program, "run", "--user", f"{os.getuid()}:{os.getgid()}", "--rm"]
        if inv.init:
            argv.append("--init")
        for mount in inv.mounts:
            argv += mount.option()
        if inv.workdir is not None:
            argv += ["--workdir", str(inv.workdir)]
        if inv.entrypoint is not None:
            argv += ["--entrypoint", inv.entrypoint]
        if inv.cpus:
            argv += ["--cpus", str(inv.cpus)]
        if inv.memory_mib:
            argv += ["--memory", f"{inv.memory_mib}m"]
        if inv.gpu:
            argv += ["--gpus", "all" if inv.gpu == "all" else str(inv.gpu)]
        for item in [*sorted(inv.env), *inv.env_args]:
            argv += ["--env", item]
        return [*argv, *inv.engine_args, inv.image, *inv.argv]
