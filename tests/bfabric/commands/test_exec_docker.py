"""exec, shell and docker/podman commands: argv, environment, failures."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from specs.bfabric.app_commands import (
    CommandDocker,
    CommandExec,
    CommandShell,
    MountOptions,
)
from tasks.bfabric.commands import (
    CommandFailedError,
    command_env,
    docker_argv,
    exec_argv,
    run_command,
)


def test_exec_argv_splits_without_shell_and_appends_args(recorder, tmp_path):
    prog = recorder.make("show")
    spec = CommandExec(type="exec", command=f"{prog} 'hello world'")
    run_command(spec, ["hello", "world"], cwd=tmp_path)
    (call,) = recorder.calls()
    assert call["argv"][1:] == ["hello world", "hello", "world"]
    assert call["cwd"] == str(tmp_path)
    assert exec_argv(CommandExec(type="exec", command="echo 'hello world'"), ["hello", "world"]) == [
        "echo", "hello world", "hello", "world"]


def test_args_with_shell_metacharacters_stay_words(recorder, tmp_path):
    prog = recorder.make("show")
    run_command(CommandExec(type="exec", command=str(prog)), ["$(touch pwned)", "a;b", "*"], cwd=tmp_path)
    assert recorder.calls()[0]["argv"][1:] == ["$(touch pwned)", "a;b", "*"]
    assert not (tmp_path / "pwned").exists()


def test_prepend_paths_in_order_then_env_overlaid(recorder, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", "/home/tester")
    assert command_env(["/usr/local/bin", "~/bin"], {}, base={})["PATH"] == "/usr/local/bin:/home/tester/bin:"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("KEEP", "inherited")
    recorder.make("tool")
    spec = CommandExec(type="exec", command="tool x", prepend_paths=[recorder.bin_dir, Path("/opt/second")],
                       env={"GREETING": "hi there", "PATH_NOTE": "set"})
    run_command(spec, [], cwd=tmp_path)
    env = recorder.calls()[0]["env"]
    assert env["PATH"] == f"{recorder.bin_dir}:/opt/second:/usr/bin:/bin"
    assert env["GREETING"] == "hi there" and env["KEEP"] == "inherited"


def test_env_overrides_path_after_prepending():
    env = command_env(["/a"], {"PATH": "/only"}, base={"PATH": "/usr/bin"})
    assert env["PATH"] == "/only"


def test_non_zero_exit_raises_command_failed(recorder, tmp_path):
    prog = recorder.make("fail3", exit_code=3)
    with pytest.raises(CommandFailedError, match=r"Command failed with exit code 3: .*fail3 a") as info:
        run_command(CommandExec(type="exec", command=str(prog)), ["a"], cwd=tmp_path)
    assert info.value.returncode == 3
    assert isinstance(info.value, RuntimeError)


def test_missing_program_is_a_command_failure(tmp_path):
    with pytest.raises(CommandFailedError, match="exit code 127: no-such-program-xyz"):
        run_command(CommandExec(type="exec", command="no-such-program-xyz"), [], cwd=tmp_path)


def test_not_executable_program_is_a_command_failure(tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(CommandFailedError, match="exit code 126"):
        run_command(CommandExec(type="exec", command=str(script)), [], cwd=tmp_path)


def test_shell_is_an_exec_alias(recorder, tmp_path):
    prog = recorder.make("show")
    run_command(CommandShell(type="shell", command=f"{prog} 'a b' c"), ["d"], cwd=tmp_path)
    assert recorder.calls()[0]["argv"][1:] == ["a b", "c", "d"]


def test_output_is_streamed_to_the_log(recorder, tmp_path):
    prog = recorder.make("show")
    log = tmp_path / "run.log"
    run_command(CommandExec(type="exec", command=str(prog)), ["x"], cwd=tmp_path, log_file=log)
    assert log.read_text() == "recorded x\n"


def uid_gid() -> str:
    return f"{os.getuid()}:{os.getgid()}"


def test_docker_argv_minimal_matches_app_runner(monkeypatch):
    monkeypatch.setenv("HOME", "/home/tester")
    spec = CommandDocker(type="docker", image="python:3.9", command="python script.py")
    assert docker_argv(spec, [], Path("/work")) == [
        "docker", "run", "--user", uid_gid(), "--rm",
        "--mount", "type=bind,source=/home/tester/.bfabricpy.yml,target=/home/user/.bfabricpy.yml,readonly",
        "--mount", "type=bind,source=/work,target=/work",
        "python:3.9", "python", "script.py"]


def test_docker_argv_full_option_order(monkeypatch):
    monkeypatch.setenv("HOME", "/home/tester")
    spec = CommandDocker(
        type="docker", image="img:1", command="run.sh --flag 'two words'", entrypoint="/bin/sh",
        engine="podman", env={"A": "1", "B": "two words"}, mac_address="02:42:ac:11:00:02", hostname="box",
        custom_args=["--network=host", "--cpus", "2"],
        mounts=MountOptions(work_dir_target=Path("/data/work"), share_bfabric_config=False,
                            read_only=[(Path("/ref"), Path("/mnt/ref"))],
                            writeable=[(Path("~/scratch"), Path("/scratch"))]))
    assert docker_argv(spec, ["chunk1"], Path("/w")) == [
        "podman", "run", "--user", uid_gid(), "--rm",
        "--mount", "type=bind,source=/w,target=/data/work",
        "--mount", "type=bind,source=/ref,target=/mnt/ref,readonly",
        "--mount", "type=bind,source=/home/tester/scratch,target=/scratch",
        "--entrypoint", "/bin/sh",
        "--env", "A=1", "--env", "B='two words'",
        "--mac-address", "02:42:ac:11:00:02",
        "--network=host", "--cpus", "2",
        "--hostname", "box",
        "img:1", "run.sh", "--flag", "two words", "chunk1"]


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_docker_command_runs_the_engine_from_path(recorder_on_path, tmp_path, monkeypatch, engine):
    monkeypatch.setenv("HOME", "/home/tester")
    recorder_on_path.make(engine)
    spec = CommandDocker(type="docker", image="python:3.9", command="python script.py", engine=engine)
    run_command(spec, ["arg1"], cwd=tmp_path)
    (call,) = recorder_on_path.calls()
    assert Path(call["argv"][0]).name == engine
    expected = docker_argv(spec, ["arg1"], tmp_path)
    name = call["argv"][call["argv"].index("--name") + 1]  # a fresh name per run, so it can be removed
    assert re.fullmatch(r"labflows-[0-9a-f]{12}", name)
    assert call["argv"][1:] == [*expected[1:5], "--name", name, *expected[5:]]
    assert f"type=bind,source={tmp_path},target={tmp_path}" in call["argv"]
    assert call["argv"][-3:] == ["python", "script.py", "arg1"]


def test_docker_failure_raises(recorder_on_path, tmp_path):
    recorder_on_path.make("docker", exit_code=125)
    with pytest.raises(CommandFailedError, match="exit code 125: docker run"):
        run_command(CommandDocker(type="docker", image="i", command="c"), [], cwd=tmp_path)
