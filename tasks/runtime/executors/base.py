"""What an executor is given (:class:`Invocation`) and what every executor does (:class:`Executor`)."""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from tasks.runtime.streaming import run_streaming, run_to_file


class ExecutorUnavailable(RuntimeError):
    """The executor's program (``docker``, ``podman``, …) is not on this machine."""


@dataclass(frozen=True)
class Mount:
    """A host path bound into a container."""

    source: Path | str
    target: Path | str
    readonly: bool = False

    def option(self) -> list[str]:
        """``--mount type=bind,source=…,target=…[,readonly]``."""
        text = f"type=bind,source={self.source},target={self.target}" + (",readonly" if self.readonly else "")
        return ["--mount", text]


@dataclass
class Invocation:
    """One program to run: its argv, where, with what environment, and (for containers) in what.

    Attributes:
        argv: The program and its arguments, as the program sees them (inside the container, if any).
        cwd: The host folder the program (or the container client) starts in.
        env: Variables laid over ``os.environ`` for the process. A container gets them by name only,
            so values never appear on a command line.
        image: The container image (container executors only).
        mounts: Bind mounts, in order (container executors only).
        workdir: The working directory inside the container; None keeps the image's.
        entrypoint: None keeps the image's entrypoint; ``""`` clears it.
        init: Run an init process in the container (reaps zombies, forwards signals).
        env_args: Extra ``--env`` arguments, ``NAME`` or ``NAME=VALUE``, after those of ``env``.
        cpus, memory_mib, gpu: Resource limits of a container.
        name: The container's name; None lets the executor pick a fresh one when it runs.
        engine_args: Further ``<engine> run`` options, just before the image.
        log_file, timeout_s, prefix: As :func:`tasks.runtime.streaming.run_streaming` takes them.
        to_run_log: Each output line also goes to the run log (the Prefect UI); False with a
            ``log_file``: the output goes to the file only (:func:`tasks.runtime.streaming.run_to_file`).
    """

    argv: list[str]
    cwd: Path | str
    env: dict[str, str] = field(default_factory=dict)
    image: str = ""
    mounts: list[Mount] = field(default_factory=list)
    workdir: Path | str | None = None
    entrypoint: str | None = None
    init: bool = False
    env_args: list[str] = field(default_factory=list)
    cpus: float | None = None
    memory_mib: int | None = None
    gpu: int | str = 0
    name: str | None = None
    engine_args: list[str] = field(default_factory=list)
    log_file: Path | None = None
    timeout_s: float | None = None
    prefix: str = ""
    to_run_log: bool = True


def child_environment(extra: Mapping[str, str]) -> dict:
    """This process's environment as it is now, ``extra`` laid over it, for a child process.

    As bytes where the platform keeps them (POSIX): ``os.environ``'s own bytes copied at C speed,
    not each variable decoded here and encoded again by ``subprocess`` (a scatter branch's command
    start paid about 15 % of its Python time for that).
    """
    data = getattr(os.environ, "_data", None) if os.supports_bytes_environ else None
    if not isinstance(data, dict):
        return {**os.environ, **extra}
    env = dict(data)
    for name, value in extra.items():
        env[os.fsencode(name)] = os.fsencode(value)
    return env


class Executor(ABC):
    """Where a program runs. Subclasses build the argv; running and streaming are shared."""

    #: The name workflows and the CLI use (``--executor NAME``); the registry key.
    name: str
    #: The program this executor needs on PATH, if any.
    program: str | None = None
    #: Whether commands run in the invocation's image (False: on the host, the image is ignored).
    uses_image: bool = True

    @abstractmethod
    def argv(self, inv: Invocation) -> list[str]:
        """The full argv that runs ``inv`` with this executor."""

    def unavailable(self) -> str | None:
        """Why this executor can't run here (one line), or None when it can."""
        if self.program and not shutil.which(self.program):
            return f"executor {self.name}: no {self.program!r} command on PATH"
        return None

    def require(self) -> None:
        """Raise :class:`ExecutorUnavailable` (one line) when this executor can't run here."""
        reason = self.unavailable()
        if reason:
            raise ExecutorUnavailable(reason)

    def engine_failed(self, code: int) -> bool:
        """Whether exit ``code`` means the executor itself failed (not the program): another attempt may cure it."""
        return False

    def run(self, inv: Invocation) -> int:
        """Run ``inv``, its output streamed into the run log; returns the exit code.

        Raises:
            FileNotFoundError: The program (or the container engine) does not exist.
            tasks.runtime.streaming.CommandTimeout: ``inv.timeout_s`` passed.
        """
        env = child_environment(inv.env)
        if not inv.to_run_log and inv.log_file is not None:
            return run_to_file(self.argv(inv), log_file=inv.log_file, cwd=inv.cwd, env=env, timeout_s=inv.timeout_s)
        return run_streaming(self.argv(inv), cwd=inv.cwd, env=env, log_file=inv.log_file,
                             prefix=inv.prefix, timeout_s=inv.timeout_s)
