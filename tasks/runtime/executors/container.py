"""Container executors: ``docker run`` and ``podman run`` with one option order.

Order: ``ENGINE run --user UID:GID --rm [--name NAME] [--init]``, mounts, ``--workdir``,
``--entrypoint``, limits (``--cpus``, ``--memory``, then the GPU flags), ``--env`` (names of
``env``, then ``env_args``), ``engine_args``, the image, the argv. The container runs as the
calling user, so files it writes in a bind-mounted folder belong to that user.

The engines differ in one place only, how GPUs are asked for: docker has ``--gpus all|N``;
podman (4.x) takes CDI devices, ``--device nvidia.com/gpu=all`` or one ``--device
nvidia.com/gpu=I`` per index. Which OCI runtime podman uses is podman's configuration
(``containers.conf``: ``[engine] runtime = "runc"``), never part of the argv.

Each run gets a fresh ``--name`` so a container left by a timeout or cancel can be killed and
removed; ``login`` (for BayerCLAW's ``+auth``) passes the password on stdin.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import uuid

from tasks.runtime.executors.base import Executor, Invocation

#: What an image reference may look like: ``[host[:port]/]path[:tag][@digest]``. Anything else,
#: in particular a leading ``-`` (an image tag may come from job data), would be read as options.
IMAGE_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]{0,511}")

#: ``docker run`` / ``podman run`` exit with this when the engine itself failed (daemon unreachable,
#: image pull, container creation), before the program ran.
ENGINE_ERROR_EXIT = 125

#: Seconds to wait for ``ENGINE kill`` / ``rm -f`` / ``login`` before giving up on them.
REMOVE_TIMEOUT_S = 30.0


def docker_gpu_args(gpu: int | str) -> list[str]:
    """``--gpus all`` or ``--gpus N`` (docker's flag)."""
    return ["--gpus", "all" if gpu == "all" else str(gpu)]


def cdi_gpu_args(gpu: int | str) -> list[str]:
    """CDI devices for podman: ``nvidia.com/gpu=all``, or the first ``gpu`` GPUs by index."""
    names = ["all"] if gpu == "all" else [str(i) for i in range(int(gpu))]
    return [x for name in names for x in ("--device", f"nvidia.com/gpu={name}")]


GPU_ARGS = {"docker": docker_gpu_args, "podman": cdi_gpu_args}


class ContainerExecutor(Executor):
    """A docker-compatible container engine named by ``program``."""

    def __init__(self, program: str):
        if program not in GPU_ARGS:
            raise ValueError(f"container engine {program!r}: no GPU mapping (known: {', '.join(GPU_ARGS)})")
        self.name = program
        self.program = program

    def argv(self, inv: Invocation) -> list[str]:
        """The ``<engine> run …`` argv for ``inv`` (see the module docstring for the order).

        Raises:
            ValueError: ``inv.image`` is not an image reference (it could be read as options).
        """
        if not IMAGE_REFERENCE.fullmatch(inv.image):
            raise ValueError(f"container image {inv.image!r} is not an image reference")
        argv = [self.program, "run", "--user", f"{os.getuid()}:{os.getgid()}", "--rm"]
        if inv.name:
            argv += ["--name", inv.name]
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
            argv += GPU_ARGS[self.program](inv.gpu)
        for item in [*sorted(inv.env), *inv.env_args]:
            argv += ["--env", item]
        return [*argv, *inv.engine_args, inv.image, *inv.argv]

    def engine_failed(self, code: int) -> bool:
        """Exit 125: the engine failed before the program ran (infrastructure, not the step's commands)."""
        return code == ENGINE_ERROR_EXIT

    def run(self, inv: Invocation) -> int:
        """Run ``inv`` in a named container; if the run does not end normally, remove the container.

        A timeout or cancel stops the engine client, which does not always take the container
        with it (the client may be killed before it forwards the signal); the name lets us
        ``rm -f`` it so no container outlives its step.
        """
        named = inv if inv.name else dataclasses.replace(inv, name=f"labflows-{uuid.uuid4().hex[:12]}")
        try:
            return super().run(named)
        except BaseException:
            self.remove(named.name)
            raise

    def login(self, registry: str, username: str, password: str) -> None:
        """``ENGINE login --username USER --password-stdin REGISTRY``: the password goes on stdin,
        never on a command line or into the log.

        Raises:
            ExecutorUnavailable: The engine is not on PATH.
            RuntimeError: The login failed (one line: the engine's last error line, no password).
        """
        self.require()
        argv = [self.program, "login", "--username", username, "--password-stdin", registry]
        result = subprocess.run(argv, input=password, capture_output=True, text=True,
                                timeout=REMOVE_TIMEOUT_S, check=False)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1].replace(password, "***")
            raise RuntimeError(f"{self.program} login to {registry} as {username} failed "
                               f"(exit {result.returncode}): {last}")

    def remove(self, name: str) -> None:
        """``ENGINE kill NAME`` then ``ENGINE rm -f NAME``, quietly: the container may already be gone.

        ``kill`` (SIGKILL in both engines) first, because podman's ``rm -f`` would wait the stop
        timeout (10 s) for a container that ignores SIGTERM.
        """
        for argv in ([self.program, "kill", name], [self.program, "rm", "-f", name]):
            try:
                subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=REMOVE_TIMEOUT_S, check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass
