"""The commands of a B-Fabric app version (the ``commands`` part of app.yml).

Each command is one of ``shell``, ``exec``, ``docker`` or ``python_env``, told apart by its
``type`` key. :class:`CommandsSpec` names the three steps an app has: ``dispatch`` and
``process`` (required) and ``collect`` (optional).

Paths that point at files of the app (``pylock``, ``local_extra_deps``, ``prepend_paths`` and the
host side of docker mounts) may be written relative to app.yml: :func:`resolve_command_paths`
expands ``~`` and anchors them at the app directory. Container paths and the strings inside
``command`` and ``env`` are never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, Field

from specs.bfabric.common import StrictModel

__all__ = [
    "Command",
    "CommandDocker",
    "CommandExec",
    "CommandPythonEnv",
    "CommandShell",
    "CommandsSpec",
    "MountOptions",
    "resolve_command_paths",
    "resolve_commands_paths",
    "resolve_spec_path",
]


class CommandShell(StrictModel):
    """Deprecated: run ``command`` split like a shell would, but without a shell (same as exec)."""

    type: Literal["shell"]
    command: str = Field(description="Command line; split with shlex, runtime arguments appended.")


class CommandExec(StrictModel):
    """Run ``command`` (split with shlex, no shell) with runtime arguments appended."""

    type: Literal["exec"]
    command: str = Field(description="Command line; split with shlex, runtime arguments appended.")
    env: dict[str, str] = Field(default_factory=dict, description="Variables set on top of the inherited environment.")
    prepend_paths: list[Path] = Field(default_factory=list, description="Directories put in front of PATH, in order.")


class MountOptions(StrictModel):
    """Bind mounts of a docker command."""

    work_dir_target: Path | None = Field(
        default=None, description="Where the work dir appears in the container (default: the same path).")
    read_only: list[tuple[Path, Path]] = Field(
        default_factory=list, description="[host, container] pairs mounted read-only.")
    writeable: list[tuple[Path, Path]] = Field(
        default_factory=list, description="[host, container] pairs mounted writeable.")
    share_bfabric_config: bool = Field(
        default=True, description="Mount ~/.bfabricpy.yml at /home/user/.bfabricpy.yml (read-only).")


class CommandDocker(StrictModel):
    """Run ``command`` in a container image with docker or podman."""

    type: Literal["docker"]
    image: str
    command: str = Field(description="Command line inside the container; split with shlex.")
    entrypoint: str | None = None
    engine: Literal["docker", "podman"] = "docker"
    env: dict[str, str] = Field(default_factory=dict)
    mac_address: str | None = None
    hostname: str | None = None
    custom_args: list[str] = Field(default_factory=list, description="Extra arguments for `<engine> run`.")
    mounts: MountOptions = Field(default_factory=MountOptions)


class CommandPythonEnv(StrictModel):
    """Run ``command`` in a cached virtual environment built from a pylock.toml."""

    type: Literal["python_env"]
    pylock: Path = Field(description="The pylock.toml that pins the environment.")
    command: str = Field(description="A script of the env (`my-script a`) or python arguments (`-m pkg`).")
    python_version: str = "3.13"
    local_extra_deps: list[Path] = Field(
        default_factory=list, description="Local wheels or source trees installed with --no-deps after the lock.")
    env: dict[str, str] = Field(default_factory=dict)
    prepend_paths: list[Path] = Field(default_factory=list)
    refresh: bool = Field(default=False, description="Build a fresh throw-away environment for every run.")


Command = Annotated[
    Union[CommandShell, CommandExec, CommandDocker, CommandPythonEnv],
    Field(discriminator="type"),
]


class CommandsSpec(StrictModel):
    """The commands of one app version."""

    dispatch: Command = Field(description="Called with `<workunit_ref> <work_dir>`.")
    process: Command = Field(description="Called with `<chunk_dir>`.")
    collect: Command | None = Field(default=None, description="Called with `<workunit_ref> <chunk_dir>`.")


def resolve_spec_path(path: Path | str, base_dir: Path) -> Path:
    """``~`` expanded; a relative path anchored at ``base_dir``; an absolute one kept."""
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else base_dir / expanded


def _resolve_pairs(pairs: list[tuple[Path, Path]], base_dir: Path) -> list[tuple[Path, Path]]:
    return [(resolve_spec_path(host, base_dir), container) for host, container in pairs]


def resolve_command_paths(command: BaseModel, base_dir: Path) -> BaseModel:
    """A copy of ``command`` whose spec-relative paths are anchored at ``base_dir``."""
    if isinstance(command, CommandExec):
        return command.model_copy(update={
            "prepend_paths": [resolve_spec_path(p, base_dir) for p in command.prepend_paths]})
    if isinstance(command, CommandPythonEnv):
        return command.model_copy(update={
            "pylock": resolve_spec_path(command.pylock, base_dir),
            "local_extra_deps": [resolve_spec_path(p, base_dir) for p in command.local_extra_deps],
            "prepend_paths": [resolve_spec_path(p, base_dir) for p in command.prepend_paths]})
    if isinstance(command, CommandDocker):
        mounts = command.mounts.model_copy(update={
            "read_only": _resolve_pairs(command.mounts.read_only, base_dir),
            "writeable": _resolve_pairs(command.mounts.writeable, base_dir)})
        return command.model_copy(update={"mounts": mounts})
    return command


def resolve_commands_paths(commands: CommandsSpec, base_dir: Path) -> CommandsSpec:
    """A copy of ``commands`` with every command's spec-relative paths anchored at ``base_dir``."""
    update = {name: resolve_command_paths(cmd, base_dir)
              for name in ("dispatch", "process", "collect")
              if (cmd := getattr(commands, name)) is not None}
    return commands.model_copy(update=update)
