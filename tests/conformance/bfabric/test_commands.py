"""bfabric-app-runner's exec and docker command tests, ported (argv, environment, failures).

upstream files (tests/bfabric_app_runner/commands/): test_command_exec.py (8 cases): 5 ported, 3 skipped
as plumbing (TestCapturedOutput: how upstream re-logs the captured output of its own ``uv``
provisioning commands); test_command_docker.py (7 cases): 6 ported, 1 skipped as plumbing
(test_execute: a mock that the docker argv is handed to the exec runner).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specs.bfabric.app_commands import CommandDocker, CommandExec, MountOptions
from tasks.bfabric.commands import CommandFailedError, command_env, docker_argv, exec_argv, run_command

USER = f"{os.getuid()}:{os.getgid()}"


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _exec(command: str, **fields) -> CommandExec:
    return CommandExec(type="exec", command=command, **fields)


def test_execute_minimal():
    """upstream: tests/bfabric_app_runner/commands/test_command_exec.py::TestStreamedOutput::test_execute_minimal"""
    spec = _exec("echo 'hello world'")
    assert exec_argv(spec, ["hello", "world"]) == ["echo", "hello world", "hello", "world"]
    assert command_env(spec.prepend_paths, spec.env, base={"NAME": "testing"}) == {"NAME": "testing"}


def test_execute_full(home):
    """upstream: tests/bfabric_app_runner/commands/test_command_exec.py::TestStreamedOutput::test_execute_full"""
    spec = _exec('bash -c \'echo "hello $NAME" && echo "$PATH"\'', env={"NAME": "sun"},
                 prepend_paths=[Path("/usr/local/bin"), Path("~/bin")])
    assert exec_argv(spec, ["hello", "world"]) == ["bash", "-c", 'echo "hello $NAME" && echo "$PATH"', "hello", "world"]
    assert command_env(spec.prepend_paths, spec.env, base={"NAME": "testing"}) == {
        "NAME": "sun", "PATH": f"/usr/local/bin:{home}/bin:"}


def test_execute_expands_user_in_prepend_paths(home):
    """upstream: tests/bfabric_app_runner/commands/test_command_exec.py::TestStreamedOutput::test_execute_expands_user_in_prepend_paths"""
    assert command_env([Path("~/bin")], {}, base={})["PATH"] == f"{home}/bin:"


def test_failure_raises_command_failed_error(tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_exec.py::TestStreamedOutput::test_failure_raises_command_failed_error"""
    with pytest.raises(CommandFailedError) as info:
        run_command(_exec("sh -c 'exit 3'"), [], cwd=tmp_path)
    assert "exit code 3" in str(info.value) and "sh -c 'exit 3'" in str(info.value)


def test_failure_is_a_runtime_error(tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_exec.py::TestStreamedOutput::test_failure_is_a_runtime_error_keeping_the_original_cause"""
    with pytest.raises(RuntimeError) as info:
        run_command(_exec("sh -c 'exit 3'"), [], cwd=tmp_path)
    assert info.value.returncode == 3


def _docker(**fields) -> CommandDocker:
    return CommandDocker(type="docker", **fields)


def test_default_mounts(home, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_docker.py::TestCollectMountOptions::test_default_behavior"""
    work = tmp_path / "work"
    argv = docker_argv(_docker(image="i", command="c"), [], work)
    assert argv[5:9] == ["--mount", f"type=bind,source={home}/.bfabricpy.yml,target=/home/user/.bfabricpy.yml,readonly",
                         "--mount", f"type=bind,source={work},target={work}"]


def test_custom_mounts(tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_docker.py::TestCollectMountOptions::test_with_custom_mounts"""
    work, data, shared = tmp_path / "work", tmp_path / "data", tmp_path / "shared"
    mounts = MountOptions(read_only=[(data, Path("/container/data"))], writeable=[(shared, Path("/container/shared"))],
                          share_bfabric_config=False)
    argv = docker_argv(_docker(image="i", command="c", mounts=mounts), [], work)
    assert [a for a in argv if a.startswith("type=bind")] == [
        f"type=bind,source={work},target={work}", f"type=bind,source={data},target=/container/data,readonly",
        f"type=bind,source={shared},target=/container/shared"]


def test_path_expansion(home):
    """upstream: tests/bfabric_app_runner/commands/test_command_docker.py::TestCollectMountOptions::test_path_expansion"""
    mounts = MountOptions(read_only=[(Path("~/data"), Path("/container/data"))], share_bfabric_config=False)
    argv = docker_argv(_docker(image="i", command="c", mounts=mounts), [], Path("/work"))
    assert f"type=bind,source={home}/data,target=/container/data,readonly" in argv


def test_basic(home):
    """upstream: tests/bfabric_app_runner/commands/test_command_docker.py::TestExecuteCommandDocker::test_basic"""
    assert docker_argv(_docker(image="python:3.9", command="python script.py"), [], Path("/work")) == [
        "docker", "run", "--user", USER, "--rm",
        "--mount", f"type=bind,source={home}/.bfabricpy.yml,target=/home/user/.bfabricpy.yml,readonly",
        "--mount", "type=bind,source=/work,target=/work", "python:3.9", "python", "script.py"]


def test_with_options(tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_docker.py::TestExecuteCommandDocker::test_with_options"""
    spec = _docker(image="ubuntu:latest", command="echo 'hello'", entrypoint="/bin/bash",
                   env={"DEBUG": "1", "PATH": "/usr/local/bin"}, mac_address="00:00:00:00:00:00",
                   custom_args=["--network=host"], hostname="myhost", mounts=MountOptions(share_bfabric_config=False))
    work = tmp_path / "work"
    assert docker_argv(spec, [], work) == [
        "docker", "run", "--user", USER, "--rm", "--mount", f"type=bind,source={work},target={work}",
        "--entrypoint", "/bin/bash", "--env", "DEBUG=1", "--env", "PATH=/usr/local/bin",
        "--mac-address", "00:00:00:00:00:00", "--network=host", "--hostname", "myhost",
        "ubuntu:latest", "echo", "hello"]


def test_with_complex_command():
    """upstream: tests/bfabric_app_runner/commands/test_command_docker.py::TestExecuteCommandDocker::test_with_complex_command"""
    spec = _docker(image="alpine:latest", command="sh -c \"echo 'test with spaces' && ls -la\"",
                   mounts=MountOptions(share_bfabric_config=False))
    assert docker_argv(spec, [], Path("/work")) == [
        "docker", "run", "--user", USER, "--rm", "--mount", "type=bind,source=/work,target=/work",
        "alpine:latest", "sh", "-c", "echo 'test with spaces' && ls -la"]
