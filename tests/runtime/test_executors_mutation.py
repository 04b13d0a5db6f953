"""The executors called directly: base (mounts, availability, running), local (the host's shell) and
container (argv, engine errors, the fresh name and the clean-up after a failed run).

These are the fast tests ``make mutate`` judges the executor modules' mutants by (bench/mutate.py
runs them with ``--noconftest``: no Prefect server, no podman). A container run goes to a stand-in
engine on PATH (tests/support/fake_engine.py); real containers are in test_containers.py.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from pathlib import Path

import pytest

from tasks.runtime.executors import EXECUTORS, Executor, ExecutorUnavailable, Invocation, Mount
from tasks.runtime.executors.container import ENGINE_ERROR_EXIT, ContainerExecutor, cdi_gpu_args, docker_gpu_args
from tasks.runtime.executors.local import LocalExecutor, host_sh_has_pipefail, posix_pipefail_shell
from tasks.runtime.streaming import CommandTimeout
from tests.support.fake_engine import engine_calls, install_fake_engine

# --- base: Mount, Invocation, Executor -------------------------------------------------------


def test_a_mount_is_a_bind_mount_read_write_unless_asked():
    assert Mount("/host/ws", "/ws").option() == ["--mount", "type=bind,source=/host/ws,target=/ws"]
    assert Mount("/refs", "/refs", readonly=True).option() == ["--mount", "type=bind,source=/refs,target=/refs,readonly"]


def test_a_mount_is_frozen_and_equal_by_value():
    mount = Mount("/a", "/b")
    assert mount == Mount("/a", "/b") and len({mount, Mount("/a", "/b")}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        mount.source = "/etc"  # type: ignore[misc]


def test_an_invocation_asks_for_nothing_beyond_its_argv_by_default(tmp_path):
    inv = Invocation(argv=["true"], cwd=tmp_path)
    assert (inv.env, inv.image, inv.mounts, inv.workdir, inv.entrypoint, inv.init, inv.env_args) == \
        ({}, "", [], None, None, False, [])
    assert (inv.cpus, inv.memory_mib, inv.gpu, inv.name, inv.engine_args) == (None, None, 0, None, [])
    assert (inv.log_file, inv.timeout_s, inv.prefix) == (None, None, "")
    other = Invocation(argv=["true"], cwd=tmp_path)
    other.env["X"] = "1"
    other.mounts.append(Mount("/a", "/a"))
    assert inv.env == {} and inv.mounts == []  # no default shared between invocations


def test_an_executor_without_argv_cannot_be_made():
    class Incomplete(Executor):
        name = "incomplete"

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


def test_only_container_executors_use_the_image_and_only_they_need_a_program():
    assert EXECUTORS["local"].uses_image is False and EXECUTORS["local"].program is None
    assert EXECUTORS["docker"].uses_image is True and EXECUTORS["podman"].uses_image is True
    assert (EXECUTORS["docker"].program, EXECUTORS["podman"].program) == ("docker", "podman")


def test_an_engine_missing_from_path_is_unavailable_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert EXECUTORS["podman"].unavailable() == "executor podman: no 'podman' command on PATH"
    with pytest.raises(ExecutorUnavailable, match=r"^executor docker: no 'docker' command on PATH$"):
        EXECUTORS["docker"].require()
    assert issubclass(ExecutorUnavailable, RuntimeError)
    assert EXECUTORS["local"].unavailable() is None  # needs no program
    EXECUTORS["local"].require()


def test_an_engine_on_path_is_available(tmp_path, monkeypatch):
    install_fake_engine(tmp_path / "bin", "podman", monkeypatch)
    assert EXECUTORS["podman"].unavailable() is None
    EXECUTORS["podman"].require()


def test_only_a_container_engine_failure_is_the_executors_own():
    assert [EXECUTORS["docker"].engine_failed(code) for code in (0, 1, 124, 125, 126, 127)] == \
        [False, False, False, True, False, False]
    assert ENGINE_ERROR_EXIT == 125 and EXECUTORS["podman"].engine_failed(125)
    assert not any(EXECUTORS["local"].engine_failed(code) for code in (0, 1, 125, 126, 127))


# --- local: the host's sh ----------------------------------------------------------------------


def fake_program(folder: Path, name: str, body: str) -> None:
    """An executable ``name`` in ``folder`` running ``body`` (sh)."""
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(f"#!/bin/sh\n{body}\n")
    (folder / name).chmod(0o755)


def fake_engine_first_on_path(tmp_path: Path, name: str, body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A container engine ``name`` running ``body`` (sh), found before the real one on PATH."""
    fake_program(tmp_path / "bin", name, body)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")


@pytest.mark.parametrize(("answer", "has_pipefail"), [
    ("exit 0", True),
    ("echo 'sh: 1: set: Illegal option -o pipefail' >&2; exit 2", False),  # dash
    ("kill -9 $$", False),  # killed by a signal: no answer is no
])
def test_the_hosts_sh_is_asked_once_and_quietly_whether_it_has_pipefail(tmp_path, monkeypatch, capfd, answer,
                                                                          has_pipefail):
    calls = tmp_path / "calls"
    fake_program(tmp_path / "bin", "sh", f'echo "$@" >> {calls}; {answer}')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    host_sh_has_pipefail.cache_clear()
    try:
        assert host_sh_has_pipefail() is has_pipefail
        assert host_sh_has_pipefail() is has_pipefail
    finally:
        host_sh_has_pipefail.cache_clear()
    assert calls.read_text() == "-c set -o pipefail\n"
    assert capfd.readouterr() == ("", "")  # the probe's complaint is not the user's business


def test_no_sh_at_all_means_no_pipefail(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    host_sh_has_pipefail.cache_clear()
    try:
        assert host_sh_has_pipefail() is False
    finally:
        host_sh_has_pipefail.cache_clear()


def test_the_posix_pipefail_shell_is_bash_in_posix_mode_when_there_is_bash(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert posix_pipefail_shell() is None
    fake_program(tmp_path / "bin", "bash", "exit 0")
    assert posix_pipefail_shell() == ["bash", "--posix"]


# --- container: GPUs, argv, running in a named container ---------------------------------------


def test_gpu_flags_per_engine_for_all_or_a_count():
    everything = "".join(["a", "ll"])  # "all" as a value read from a file is not the interned literal
    assert docker_gpu_args(everything) == ["--gpus", "all"] and docker_gpu_args(3) == ["--gpus", "3"]
    assert cdi_gpu_args(everything) == ["--device", "nvidia.com/gpu=all"]
    assert cdi_gpu_args(1) == ["--device", "nvidia.com/gpu=0"]
    assert cdi_gpu_args("2") == ["--device", "nvidia.com/gpu=0", "--device", "nvidia.com/gpu=1"]


def test_a_container_gets_environment_names_only_in_order_then_engine_args_then_image(tmp_path):
    inv = Invocation(argv=["run.sh", "--x"], cwd=tmp_path, image="img:1",
                     env={"TOKEN": "s3cret", "A_VAR": "v"}, env_args=["EXTRA=1", "Z"],
                     engine_args=["--network", "none"], cpus=0.5, memory_mib=64)
    argv = EXECUTORS["docker"].argv(inv)
    assert argv[5:] == ["--cpus", "0.5", "--memory", "64m", "--env", "A_VAR", "--env", "TOKEN", "--env", "EXTRA=1",
                        "--env", "Z", "--network", "none", "img:1", "run.sh", "--x"]
    assert "s3cret" not in " ".join(argv)
    assert argv[:5] == ["docker", "run", "--user", f"{os.getuid()}:{os.getgid()}", "--rm"]


def test_a_container_with_defaults_has_no_optional_flags(tmp_path):
    assert EXECUTORS["podman"].argv(Invocation(argv=["true"], cwd=tmp_path, image="busybox")) == \
        ["podman", "run", "--user", f"{os.getuid()}:{os.getgid()}", "--rm", "busybox", "true"]


def test_a_leading_dash_image_is_refused_even_when_everything_else_is_fine(tmp_path):
    with pytest.raises(ValueError, match=r"^container image '-it' is not an image reference$"):
        EXECUTORS["docker"].argv(Invocation(argv=["true"], cwd=tmp_path, image="-it"))


def test_a_failed_login_with_no_error_output_says_so(tmp_path, monkeypatch):
    fake_engine_first_on_path(tmp_path, "docker", "cat > /dev/null; exit 4", monkeypatch)
    with pytest.raises(RuntimeError, match=r"^docker login to r.example as bot failed \(exit 4\): no output$"):
        EXECUTORS["docker"].login("r.example", "bot", "pw")


def test_a_failed_login_says_the_engines_last_error_line_without_the_password(tmp_path, monkeypatch):
    fake_engine_first_on_path(tmp_path, "podman", 'cat > /dev/null; echo "trying r.example" >&2; '
                              'echo "Error: denied for pw-123" >&2; exit 125', monkeypatch)
    with pytest.raises(RuntimeError) as info:
        EXECUTORS["podman"].login("r.example", "bot", "pw-123")
    assert str(info.value) == "podman login to r.example as bot failed (exit 125): Error: denied for ***"


def test_a_login_whose_engine_is_killed_by_a_signal_failed(tmp_path, monkeypatch):
    fake_engine_first_on_path(tmp_path, "docker", "cat > /dev/null; kill -9 $$", monkeypatch)
    with pytest.raises(RuntimeError, match=r"^docker login to r.example as bot failed \(exit -9\): no output$"):
        EXECUTORS["docker"].login("r.example", "bot", "pw")


def test_a_login_that_succeeds_returns_quietly(tmp_path, monkeypatch):
    record = install_fake_engine(tmp_path / "bin", "podman", monkeypatch)
    assert EXECUTORS["podman"].login("r.example", "bot", "pw") is None
    assert engine_calls(record) == [["login", "--username", "bot", "--password-stdin", "r.example"]]


def test_an_unknown_engine_has_no_executor():
    with pytest.raises(ValueError, match="container engine 'nerdctl': no GPU mapping"):
        ContainerExecutor("nerdctl")
    assert ContainerExecutor("podman").name == "podman"


# --- running: the local executor, then containers through the stand-in engine -----------------


def test_the_local_executor_runs_the_argv_as_it_is_in_the_invocations_folder(tmp_path, caplog, monkeypatch):
    argv = ["sh", "-c", 'printf "%s|%s|%s\\n" "$1" "$(pwd)" "$KEEP-$OVER"', "sh", "a b; *"]
    inv = Invocation(argv=argv, cwd=tmp_path, env={"OVER": "mine"}, image="ignored:1", mounts=[Mount("/x", "/y")],
                     cpus=2, gpu=1, log_file=tmp_path / "step.log", prefix="[s1] ")
    assert LocalExecutor().argv(inv) == argv and LocalExecutor().argv(inv) is not inv.argv
    monkeypatch.setenv("KEEP", "kept")
    monkeypatch.setenv("OVER", "theirs")  # the invocation's own value wins
    with caplog.at_level("INFO", logger="labflows"):
        assert EXECUTORS["local"].run(inv) == 0
    line = f"a b; *|{tmp_path}|kept-mine"
    assert [r.getMessage() for r in caplog.records] == [f"[s1] {line}"]
    assert (tmp_path / "step.log").read_text() == line + "\n"


def test_the_local_executor_returns_the_exit_code_and_honours_the_timeout(tmp_path):
    assert EXECUTORS["local"].run(Invocation(argv=["sh", "-c", "exit 7"], cwd=tmp_path)) == 7
    with pytest.raises(CommandTimeout, match=r"^timed out after 0.5 s: sleep 30$"):
        EXECUTORS["local"].run(Invocation(argv=["sleep", "30"], cwd=tmp_path, timeout_s=0.5))


def test_each_run_gets_a_fresh_labflows_name_and_no_clean_up_after_a_normal_exit(tmp_path, monkeypatch, caplog):
    record = install_fake_engine(tmp_path / "bin", "podman", monkeypatch)
    inv = Invocation(argv=["say", "hi"], cwd=tmp_path, image="img:1")
    with caplog.at_level("INFO", logger="labflows"):
        assert EXECUTORS["podman"].run(inv) == 0
    assert EXECUTORS["podman"].run(dataclasses.replace(inv, argv=["exit", "3"])) == 3
    first, second = engine_calls(record)
    names = [call[call.index("--name") + 1] for call in (first, second)]
    assert all(re.fullmatch(r"labflows-[0-9a-f]{12}", name) for name in names) and names[0] != names[1]
    assert inv.name is None  # the caller's invocation is left as it was
    assert [r.getMessage() for r in caplog.records] == ["hi"]


def test_a_named_run_keeps_its_name(tmp_path, monkeypatch):
    record = install_fake_engine(tmp_path / "bin", "docker", monkeypatch)
    EXECUTORS["docker"].run(Invocation(argv=["exit", "0"], cwd=tmp_path, image="img:1", name="mine"))
    assert engine_calls(record)[0][4:6] == ["--name", "mine"]


def test_a_timed_out_container_is_killed_then_removed_by_name_even_when_kill_finds_it_gone(tmp_path, monkeypatch):
    record = install_fake_engine(tmp_path / "bin", "podman", monkeypatch)
    with pytest.raises(CommandTimeout):
        EXECUTORS["podman"].run(Invocation(argv=["sleep", "30"], cwd=tmp_path, image="img:1", timeout_s=0.5))
    run, *clean_up = engine_calls(record)
    name = run[run.index("--name") + 1]
    assert clean_up == [["kill", name], ["rm", "-f", name]]


def test_a_missing_engine_is_reported_as_such_after_trying_to_clean_up(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError):
        EXECUTORS["docker"].run(Invocation(argv=["true"], cwd=tmp_path, image="img:1"))


# --- the child's environment ---------------------------------------------------------------------
def test_the_childs_environment_is_this_processes_now_as_bytes_with_the_invocations_over_it(monkeypatch):
    from tasks.runtime.executors.base import child_environment

    monkeypatch.setenv("LABFLOWS_T_KEEP", "kept é")
    monkeypatch.setenv("LABFLOWS_T_OVER", "theirs")
    env = child_environment({"LABFLOWS_T_OVER": "mine", "LABFLOWS_T_NEW": "new"})
    assert env == {**{os.fsencode(k): os.fsencode(v) for k, v in os.environ.items()},
                   b"LABFLOWS_T_OVER": b"mine", b"LABFLOWS_T_NEW": b"new"}
    monkeypatch.setenv("LABFLOWS_T_LATER", "seen")  # not a snapshot: each call reads the environment
    monkeypatch.delenv("LABFLOWS_T_KEEP")
    again = child_environment({})
    assert again[b"LABFLOWS_T_LATER"] == b"seen" and b"LABFLOWS_T_KEEP" not in again
    assert again is not child_environment({}) and b"LABFLOWS_T_NEW" not in again


def test_without_a_bytes_environment_the_child_gets_a_str_one(monkeypatch):
    from tasks.runtime.executors import base

    real = os.environ
    monkeypatch.setattr(base.os, "environ", {"A": "1", "B": "2"})
    assert base.child_environment({"B": "3"}) == {"A": "1", "B": "3"}
    monkeypatch.setattr(base.os, "supports_bytes_environ", False)
    monkeypatch.setattr(base.os, "environ", real)
    assert base.child_environment({})["PATH"] == real["PATH"]  # str keys: the bytes are not used


@pytest.mark.parametrize("to_run_log", [True, False])
def test_output_reaches_the_run_log_only_when_asked_and_the_log_file_always(tmp_path, caplog, to_run_log):
    log = tmp_path / "step.log"
    inv = Invocation(argv=["sh", "-c", "echo out-line"], cwd=tmp_path, log_file=log, to_run_log=to_run_log)
    with caplog.at_level(logging.INFO, logger="labflows"):
        assert LocalExecutor().run(inv) == 0
    assert "out-line" in log.read_text()
    assert any("out-line" in r.getMessage() for r in caplog.records) is to_run_log


def test_output_kept_from_the_run_log_without_a_log_file_still_runs(tmp_path):
    inv = Invocation(argv=["sh", "-c", "echo done > marker"], cwd=tmp_path, to_run_log=False)
    assert LocalExecutor().run(inv) == 0 and (tmp_path / "marker").read_text() == "done\n"
