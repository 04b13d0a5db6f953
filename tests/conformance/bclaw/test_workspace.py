"""Conformance with BayerCLAW's ``bclaw_runner/tests/test_workspace.py`` (the step's workspace and
its command block: ``sh -veu``, failing commands and unset variables stop it) and the shells of
``Options: shell`` (doc/language.md).

Upstream has 5 tests; all 5 are ported (test_write_job_data_file in test_runner_main.py, where
labflows writes that file). 0 AWS plumbing skipped.
"""

import logging
import shutil
from pathlib import Path

import pytest

from tasks.bclaw.commands import SHELL_ARGV, CommandRun, run_commands, shell_argv
from tasks.bclaw.workspaces import new_workspace
from tasks.runtime.executors.local import host_sh_has_pipefail


def test_workspace(tmp_path):
    """upstream: bclaw_runner/tests/test_workspace.py::test_workspace (a fresh folder under scratch)."""
    first, second = new_workspace(tmp_path, "step"), new_workspace(tmp_path, "step")
    assert first.is_dir() and second.is_dir() and first != second
    assert tmp_path in first.parents


def run(tmp_path: Path, commands: list[str], shell: str = "sh", executor: str = "local") -> int:
    return run_commands(CommandRun(script="\n".join(commands), workspace=tmp_path, shell=shell), executor)


def test_run_commands(tmp_path):
    """upstream: bclaw_runner/tests/test_workspace.py::test_run_commands"""
    out = tmp_path / "test_success.out"
    assert run(tmp_path, [f"echo 'one' > {out}", "z='two'", f"echo $z >> {out}"]) == 0
    assert out.read_text() == "one\ntwo\n"


def test_exit_on_command_fail1(tmp_path):
    """upstream: bclaw_runner/tests/test_workspace.py::test_exit_on_command_fail1"""
    out = tmp_path / "out"
    assert run(tmp_path, [f"echo 'one' > {out}", "false", f"echo $z >> {out}"]) != 0
    assert out.read_text() == "one\n"


def test_exit_on_undef_var1(tmp_path):
    """upstream: bclaw_runner/tests/test_workspace.py::test_exit_on_undef_var1"""
    out = tmp_path / "out"
    assert run(tmp_path, [f"echo 'one' > {out}", "echo $UNDEFINED_VAR", f"echo $z >> {out}"]) != 0
    assert out.read_text() == "one\n"


@pytest.mark.parametrize("shell, pipe_fails", [("sh", False), ("bash", True), ("sh-pipefail", True)])
def test_shells_and_pipefail(tmp_path, shell, pipe_fails):
    """doc/language.md: ``shell: sh | bash | sh-pipefail``; with pipefail a failing stage fails the
    pipe, on this host too (where /bin/sh may be dash, which has no pipefail)."""
    before, out = tmp_path / "before", tmp_path / "out"
    code = run(tmp_path, [f"echo before > {before}", "false | true", f"echo after > {out}"], shell=shell)
    assert before.exists()  # the shell ran the script (dash stops at "-o pipefail" before it starts)
    assert (code != 0) is pipe_fails
    assert out.exists() is not pipe_fails


@pytest.mark.skipif(host_sh_has_pipefail() or not shutil.which("bash"), reason="this host's sh has pipefail")
def test_sh_pipefail_where_sh_is_dash_runs_bash_posix_with_a_notice(caplog):
    with caplog.at_level(logging.WARNING):
        assert shell_argv("sh-pipefail", "local") == ["bash", "--posix", "-veuo", "pipefail"]
    assert "sh has no pipefail" in caplog.text
    # in a container the image's sh is used, as BayerCLAW does
    assert shell_argv("sh-pipefail", "docker") == SHELL_ARGV["sh-pipefail"] == ["sh", "-veuo", "pipefail"]
    assert shell_argv("sh", "local") == ["sh", "-veu"]
