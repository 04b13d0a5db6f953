"""Running a step's commands: a script in the workspace, run by the step's shell, locally or in Docker."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tasks.runtime.streaming import run_streaming

SHELL_ARGV: dict[str, list[str]] = {
    "sh": ["sh", "-veu"],
    "bash": ["bash", "-veuo", "pipefail"],
    "sh-pipefail": ["sh", "-veuo", "pipefail"],
}
SCRIPT_NAME = "_commands.sh"
Executor = Literal["local", "docker"]


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


def write_script(run: CommandRun) -> Path:
    """Write the commands to ``_commands.sh`` in the workspace."""
    path = run.workspace / SCRIPT_NAME
    path.write_text(run.script if run.script.endswith("\n") else run.script + "\n")
    return path


def local_argv(run: CommandRun, script: Path) -> list[str]:
    """``sh -veu _commands.sh`` (or the bash / pipefail variant) on the host."""
    return [*SHELL_ARGV[run.shell], str(script)]


def docker_argv(run: CommandRun, script: Path, docker: str = "docker") -> list[str]:
    """``docker run`` for the step's image: workspace bind-mounted at the same path and used as
    working directory, entrypoint cleared, host user id, environment passed by name only (values
    travel in the client's environment, never on the command line)."""
    ws = str(run.workspace)
    argv = [docker, "run", "--rm", "--init", "--entrypoint", "",
            "--user", f"{os.getuid()}:{os.getgid()}",
            "--volume", f"{ws}:{ws}", "--workdir", ws]
    if run.cpus:
        argv += ["--cpus", str(run.cpus)]
    if run.memory_mib:
        argv += ["--memory", f"{run.memory_mib}m"]
    if run.gpu:
        argv += ["--gpus", "all" if run.gpu == "all" else str(run.gpu)]
    for name in sorted(run.env):
        argv += ["--env", name]
    return argv + [run.image, *SHELL_ARGV[run.shell], str(script)]


def run_commands(run: CommandRun, executor: Executor = "local") -> int:
    """Run the script with the chosen executor; output streams to the run log. Returns the exit code."""
    script = write_script(run)
    env = {**os.environ, **run.env}
    if executor == "docker":
        if not shutil.which("docker"):
            raise RuntimeError("executor docker: no 'docker' command on PATH")
        argv = docker_argv(run, script)
    else:
        argv = local_argv(run, script)
    return run_streaming(argv, cwd=run.workspace, env=env, log_file=run.log_file, timeout_s=run.timeout_s)
