"""The executor registry: every place a command can run, by the name users write.

Workflows say ``Options: executor: NAME`` (or ``--executor NAME``), B-Fabric docker commands
say ``engine: NAME``. Everything that lists executor names derives it from :data:`EXECUTORS`:
the workflow spec's type, its JSON Schema, the CLI's ``--executor`` choices and the flow
parameter. Adding an executor is one module with an :class:`Executor` subclass plus one line
below (see ARCHITECTURE.md).
"""

from __future__ import annotations

from typing import Literal

from tasks.runtime.executors.base import (
    Executor,
    ExecutorUnavailable,
    Invocation,
    Mount,
)
from tasks.runtime.executors.container import ContainerExecutor
from tasks.runtime.executors.local import LocalExecutor

__all__ = ["EXECUTORS", "ContainerExecutor", "Executor", "ExecutorName", "ExecutorUnavailable", "Invocation", "Mount",
           "get_executor"]

EXECUTORS: dict[str, Executor] = {
    "local": LocalExecutor(),
    "docker": ContainerExecutor("docker"),
    "podman": ContainerExecutor("podman"),
}

ExecutorName = Literal[tuple(EXECUTORS)]  # type: ignore[valid-type]  # derived, not repeated


def _check_registry() -> None:
    for key, executor in EXECUTORS.items():
        if not isinstance(executor, Executor) or executor.name != key:
            raise TypeError(f"executor registry: {key!r} must map to an Executor named {key!r}")


_check_registry()


def get_executor(name: str) -> Executor:
    """The executor registered as ``name``.

    Raises:
        ValueError: No executor has that name (the message lists the known ones).
    """
    try:
        return EXECUTORS[name]
    except KeyError:
        raise ValueError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})") from None
