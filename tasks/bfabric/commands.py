"""Run the commands of a B-Fabric app (``exec``, ``shell``, ``docker``, ``python_env``).

Every command is run without a shell: its ``command`` string is split with :func:`shlex.split` and
the runtime arguments are appended as separate words, so user data is never interpreted by a
shell. Output is streamed line by line into the Prefect run log. A non-zero exit raises
:class:`CommandFailedError`.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Mapping, Sequence, get_args

from specs.bfabric.app_commands import (
    Command,
    CommandDocker,
    CommandExec,
    CommandPythonEnv,
    CommandShell,
)
from tasks.runtime.executors import EXECUTORS, Invocation, Mount, get_executor

__all__ = [
    "CommandFailedError",
    "command_env",
    "docker_argv",
    "docker_invocation",
    "exec_argv",
    "run_argv",
    "run_command",
    "run_invocation",
]

BFABRIC_CONFIG_TARGET = "/home/user/.bfabricpy.yml"

# Every container engine an app may name is a registered executor (checked at import).
_missing_engines = set(get_args(CommandDocker.model_fields["engine"].annotation)) - set(EXECUTORS)
if _missing_engines:
    raise ImportError(f"docker command engines without an executor: {sorted(_missing_engines)}")


class CommandFailedError(RuntimeError):
    """A command exited with a non-zero code."""

    def __init__(self, returncode: int, argv: Sequence[str]):
        self.returncode = returncode
        self.argv = list(argv)
        super().__init__(f"Command failed with exit code {returncode}: {shlex.join(self.argv)}")


def command_env(prepend_paths: Sequence[Path | str] = (), env: Mapping[str, str] | None = None,
                base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``), ``prepend_paths`` put in front of PATH in order
    (``~`` expanded), then ``env`` laid over it."""
    result = dict(os.environ if base is None else base)
    if prepend_paths:
        paths = [os.path.expanduser(str(p)) for p in prepend_paths]
        result["PATH"] = ":".join([*paths, result.get("PATH", "")])
    result.update(env or {})
    return result


def run_argv(argv: Sequence[str], *, cwd: Path | str | None, env: Mapping[str, str] | None = None,
             log_file: Path | None = None, prefix: str = "") -> None:
    """Run ``argv`` on this host with its output streamed to the run log; raise CommandFailedError on failure."""
    run_invocation(Invocation(list(argv), cwd or ".", dict(env or {}), log_file=log_file, prefix=prefix))


def run_invocation(inv: Invocation, executor: str = "local") -> None:
    """Run ``inv`` with the named executor; raise CommandFailedError (127/126 as a shell reports a
    missing or non-executable program) on failure."""
    chosen = get_executor(executor)
    argv = chosen.argv(inv)
    try:
        code = chosen.run(inv)
    except FileNotFoundError:
        raise CommandFailedError(127, argv) from None
    except PermissionError:
        raise CommandFailedError(126, argv) from None
    if code != 0:
        raise CommandFailedError(code, argv)


def exec_argv(spec: CommandExec | CommandShell, args: Sequence[str]) -> list[str]:
    """The argv of an exec (or shell) command: its split command line, then ``args``."""
    return [*shlex.split(spec.command), *map(str, args)]


def docker_invocation(spec: CommandDocker, args: Sequence[str], work_dir: Path | str) -> Invocation:
    """The invocation of a docker command, in bfabric-app-runner's option order.

    Mounts: B-Fabric config, work dir, read-only, writeable; then ``--entrypoint``, ``--env K=V``
    (V quoted with :func:`shlex.quote`, as bfabric-app-runner does), ``--mac-address``,
    ``custom_args``, ``--hostname``, the image, the split command and ``args``.
    """
    work = Path(work_dir).absolute()
    mounts = spec.mounts
    binds: list[Mount] = []
    if mounts.share_bfabric_config:
        binds.append(Mount(Path("~/.bfabricpy.yml").expanduser(), BFABRIC_CONFIG_TARGET, readonly=True))
    binds.append(Mount(work, mounts.work_dir_target or work))
    binds += [Mount(Path(host).expanduser().absolute(), target, readonly=True) for host, target in mounts.read_only]
    binds += [Mount(Path(host).expanduser().absolute(), target) for host, target in mounts.writeable]
    engine_args = ["--mac-address", spec.mac_address] if spec.mac_address is not None else []
    engine_args += list(spec.custom_args)
    if spec.hostname is not None:
        engine_args += ["--hostname", spec.hostname]
    return Invocation(
        argv=[*shlex.split(spec.command), *map(str, args)], cwd=work, image=spec.image,
        mounts=binds, entrypoint=spec.entrypoint,
        env_args=[f"{key}={shlex.quote(value)}" for key, value in spec.env.items()], engine_args=engine_args)


def docker_argv(spec: CommandDocker, args: Sequence[str], work_dir: Path | str) -> list[str]:
    """The ``docker run`` (or ``podman run``) argv of a docker command (see :func:`docker_invocation`)."""
    return get_executor(spec.engine).argv(docker_invocation(spec, args, work_dir))


def run_command(spec: Command, args: Sequence[str], *, cwd: Path | str, log_file: Path | None = None,
                prefix: str = "") -> None:
    """Run an app command with runtime ``args`` in ``cwd``; raises CommandFailedError on failure.

    ``cwd`` is also the work dir a docker command mounts.
    """
    if isinstance(spec, (CommandExec, CommandShell)):
        prepend = spec.prepend_paths if isinstance(spec, CommandExec) else ()
        env = spec.env if isinstance(spec, CommandExec) else {}
        run_argv(exec_argv(spec, args), cwd=cwd, env=command_env(prepend, env), log_file=log_file, prefix=prefix)
    elif isinstance(spec, CommandDocker):
        inv = docker_invocation(spec, args, cwd)
        inv.log_file, inv.prefix = log_file, prefix
        run_invocation(inv, spec.engine)
    elif isinstance(spec, CommandPythonEnv):
        from tasks.bfabric.python_env import run_python_env

        run_python_env(spec, args, cwd=cwd, log_file=log_file, prefix=prefix)
    else:
        raise TypeError(f"unknown command type: {type(spec).__name__}")
