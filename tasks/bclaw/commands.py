"""Running a step's commands: a script in the workspace, run by the step's shell with the chosen executor."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tasks.runtime.executors import Invocation, Mount, get_executor
from tasks.runtime.executors.local import host_sh_has_pipefail, posix_pipefail_shell
from tasks.runtime.logs import run_logger

SHELL_ARGV: dict[str, list[str]] = {
    "sh": ["sh", "-veu"],
    "bash": ["bash", "-veuo", "pipefail"],
    "sh-pipefail": ["sh", "-veuo", "pipefail"],
}
SCRIPT_NAME = "_commands.sh"


@dataclass
class CommandRun:
    """What to run and where: the script text, the workspace, the environment to add."""

    script: str
    workspace: Path
    shell: str = "sh"
    env: dict[str, str] = field(default_factory=dict)
    image: str = ""
    cpus: int | None = None
    memory_mib: int | None = None
    gpu: int | str = 0
    log_file: Path | None = None
    timeout_s: int | None = None
    to_run_log: bool = True  # False: the output goes to log_file only (scatter branches)


def write_script(run: CommandRun) -> Path:
    """Write the commands to ``_commands.sh`` in the workspace."""
    path = run.workspace / SCRIPT_NAME
    path.write_text(run.script if run.script.endswith("\n") else run.script + "\n")
    return path


def shell_argv(shell: str, executor: str) -> list[str]:
    """The shell and options that run a step's script with ``executor``.

    ``sh-pipefail`` on a host whose ``sh`` has no ``pipefail`` (dash) runs local steps with bash in
    POSIX mode, with a one-line notice; in a container the image's ``sh`` is used as BayerCLAW does.
    """
    argv = SHELL_ARGV[shell]
    if shell != "sh-pipefail" or executor != "local" or host_sh_has_pipefail():
        return argv
    posix = posix_pipefail_shell()
    if posix is None:
        return argv  # no bash either: sh says why it cannot, in the step's log
    run_logger().warning("notice: this host's sh has no pipefail (dash); shell sh-pipefail runs as "
                         "'bash --posix -veuo pipefail' for local steps")
    return [*posix, *argv[1:]]


def invocation(run: CommandRun, script: Path, executor: str = "local") -> Invocation:
    """The invocation of ``sh -veu _commands.sh`` (or the bash / pipefail variant) for ``run``.

    In a container, the workspace is bind-mounted at the same path and used as working
    directory, the image's entrypoint is cleared, an init process reaps children, and the
    environment travels by name only (values stay in the client's environment, never on a
    command line).
    """
    ws = run.workspace
    return Invocation(
        argv=[*shell_argv(run.shell, executor), str(script)], cwd=ws, env=dict(run.env), image=run.image,
        mounts=[Mount(ws, ws)], workdir=ws, entrypoint="", init=True,
        cpus=run.cpus, memory_mib=run.memory_mib, gpu=run.gpu,
        log_file=run.log_file, timeout_s=run.timeout_s, to_run_log=run.to_run_log)


def run_commands(run: CommandRun, executor: str = "local") -> int:
    """Run the script with the named executor; output streams to the run log. Returns the exit code.

    Raises:
        ExecutorUnavailable: The executor's program is not on this machine.
    """
    chosen = get_executor(executor)
    chosen.require()
    return chosen.run(invocation(run, write_script(run), executor))
