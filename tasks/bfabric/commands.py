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
from typing import Mapping, Sequence

from specs.bfabric.app_commands import Command, CommandDocker, CommandExec, CommandPythonEnv, CommandShell
from tasks.runtime.streaming import run_streaming

__all__ = [
    "CommandFailedError",
    "command_env",
    "docker_argv",
    "exec_argv",
    "run_argv",
    "run_command",
]

BFABRIC_CONFIG_TARGET = "/home/user/.bfabricpy.yml"


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
    """Run ``argv`` with its output streamed to the run log; raise CommandFailedError on failure."""
    try:
        code = run_streaming(argv, cwd=cwd, env=env, log_file=log_file, prefix=prefix)
    except FileNotFoundError:
        # the program itself is missing: report it like a shell would (exit 127)
        raise CommandFailedError(127, argv) from None
    except PermissionError:
        # the program is not executable (exit 126, as a shell reports it)
        raise CommandFailedError(126, argv) from None
    if code != 0:
        raise CommandFailedError(code, argv)


def exec_argv(spec: CommandExec | CommandShell, args: Sequence[str]) -> list[str]:
    """The argv of an exec (or shell) command: its split command line, then ``args``."""
    return [*shlex.split(spec.command), *map(str, args)]


def _mount(source: Path | str, target: Path | str, readonly: bool) -> list[str]:
    option = f"type=bind,source={source},target={target}" + (",readonly" if readonly else "")
    return ["--mount", option]


def docker_argv(spec: CommandDocker, args: Sequence[str], work_dir: Path | str) -> list[str]:
    """The ``docker run`` (or ``podman run``) argv of a docker command, options in a fixed order.

    Order: engine run --user U:G --rm, mounts (B-Fabric config, work dir, read-only, writeable),
    --entrypoint, --env K=V (V quoted with :func:`shlex.quote`, as bfabric-app-runner does),
    --mac-address, custom_args, --hostname, then the image, the split command and ``args``.
    """
    work = Path(work_dir).absolute()
    argv = [spec.engine, "run", "--user", f"{os.getuid()}:{os.getgid()}", "--rm"]
    mounts = spec.mounts
    if mounts.share_bfabric_config:
        argv += _mount(Path("~/.bfabricpy.yml").expanduser(), BFABRIC_CONFIG_TARGET, readonly=True)
    argv += _mount(work, mounts.work_dir_target or work, readonly=False)
    for host, container in mounts.read_only:
        argv += _mount(Path(host).expanduser().absolute(), container, readonly=True)
    for host, container in mounts.writeable:
        argv += _mount(Path(host).expanduser().absolute(), container, readonly=False)
    if spec.entrypoint is not None:
        argv += ["--entrypoint", spec.entrypoint]
    for key, value in spec.env.items():
        argv += ["--env", f"{key}={shlex.quote(value)}"]
    if spec.mac_address is not None:
        argv += ["--mac-address", spec.mac_address]
    argv += list(spec.custom_args)
    if spec.hostname is not None:
        argv += ["--hostname", spec.hostname]
    argv += [spec.image, *shlex.split(spec.command), *map(str, args)]
    return argv


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
        run_argv(docker_argv(spec, args, cwd), cwd=cwd, env=command_env(), log_file=log_file, prefix=prefix)
    elif isinstance(spec, CommandPythonEnv):
        from tasks.bfabric.python_env import run_python_env

        run_python_env(spec, args, cwd=cwd, log_file=log_file, prefix=prefix)
    else:
        raise TypeError(f"unknown command type: {type(spec).__name__}")
