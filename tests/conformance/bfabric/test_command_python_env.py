"""bfabric-app-runner's python_env command tests, ported: which Python, built how, cached where, run how.

upstream file: tests/bfabric_app_runner/commands/test_command_python_env.py (33 cases; 32 ported,
all pass; 1 skipped as plumbing, not written here: ``TestPythonEnvironment::test_init_sets_paths``,
the attributes of upstream's ``PythonEnvironment`` class). Upstream mocks ``uv``, ``subprocess`` and ``fcntl``; here
the provisioning commands are compared as argv lists and environments are built for real (uv when
installed, else venv + pip) from an empty pylock plus a tiny local wheel, nothing downloaded. The
module builds its cached environment once and reuses it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path

import pytest

from specs.bfabric.app_commands import CommandPythonEnv
from tasks.bfabric import python_env
from tasks.bfabric.commands import CommandFailedError, run_command
from tasks.bfabric.python_env import (
    MARKER,
    cache_root,
    cached_env,
    env_hash,
    ephemeral_env,
    python_env_argv,
)
from tests.bfabric.commands.test_python_env import PY, UV, build_wheel, read_report, waits_on_lock

UPSTREAM = "tests/bfabric_app_runner/commands/test_command_python_env.py"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """An app folder (empty pylock, tiny wheel) with the cache, uv's cache and PATH set for the module."""
    root = tmp_path_factory.mktemp("python_env")
    app_dir = root / "app"
    app_dir.mkdir()
    (app_dir / "pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "labflows-test"\npackages = []\n')
    build_wheel(app_dir)
    bin_dir = root / "installer-bin"
    bin_dir.mkdir()
    if UV:
        (bin_dir / "uv").symlink_to(UV)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.setenv("UV_CACHE_DIR", str(root / "uv-cache"))
        mp.setenv("UV_PYTHON_DOWNLOADS", "never")
        mp.setenv("PIP_NO_INDEX", "1")
        mp.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
        yield app_dir


def spec_for(app_dir: Path, command: str = "tiny-hello", **kw) -> CommandPythonEnv:
    """A python_env command of the module's app, on this interpreter's version, with the tiny wheel."""
    kw.setdefault("python_version", PY)
    kw.setdefault("local_extra_deps", [app_dir / "tinypkg-0.1-py3-none-any.whl"])
    return CommandPythonEnv(type="python_env", pylock=app_dir / "pylock.toml", command=command, **kw)


@pytest.fixture(scope="module")
def built(app) -> Path:
    """The module's cached environment, built once."""
    return cached_env(spec_for(app))


def run_report(app: Path, tmp_path: Path, *args: str, **kw) -> dict:
    """Run the tiny script through run_command and return what it saw."""
    out = tmp_path / "out.json"
    run_command(spec_for(app, **kw), [str(out), *args], cwd=tmp_path)
    return read_report(out)


# --- TestCommandPythonEnvDefaults ---

def test_python_version_defaults_to_3_13():
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCommandPythonEnvDefaults::test_python_version_defaults_to_3_13"""
    spec = CommandPythonEnv(type="python_env", pylock=Path("/test/pylock.toml"), command="s.py")
    assert spec.python_version == "3.13"


def test_provision_uses_default_python_version(tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCommandPythonEnvDefaults::test_provision_uses_default_python_version"""
    spec = CommandPythonEnv(type="python_env", pylock=Path("/test/pylock.toml"), command="s.py")
    steps = python_env._provision_steps(spec, tmp_path / "env", "/usr/bin/uv")
    assert steps[0] == ["/usr/bin/uv", "venv", "-p", "3.13", str(tmp_path / "env")]


# --- TestPythonEnvironment ---

def test_is_provisioned_when_marker_exists(app):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestPythonEnvironment::test_is_provisioned_when_marker_exists"""
    spec = spec_for(app, python_version="3.99")  # no such Python: building would fail
    env_dir = cache_root() / "envs" / env_hash(spec)
    env_dir.mkdir(parents=True)
    (env_dir / MARKER).touch()
    assert cached_env(spec) == env_dir and sorted(p.name for p in env_dir.iterdir()) == [MARKER]


def test_is_provisioned_when_marker_missing(app):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestPythonEnvironment::test_is_provisioned_when_marker_missing"""
    spec = spec_for(app, local_extra_deps=[])
    env_dir = cache_root() / "envs" / env_hash(spec)
    env_dir.mkdir(parents=True)  # a folder without the marker: an interrupted build, so it is built again
    (env_dir / "half-built").touch()
    assert cached_env(spec) == env_dir
    assert (env_dir / MARKER).exists() and not (env_dir / "half-built").exists()


def test_provision_workflow(app, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestPythonEnvironment::test_provision_workflow"""
    env = tmp_path / "env"
    steps = python_env._provision_steps(spec_for(app, local_extra_deps=[]), env, "/usr/bin/uv")
    assert steps == [["/usr/bin/uv", "venv", "-p", PY, str(env)],
                     ["/usr/bin/uv", "pip", "install", "-p", str(env / "bin/python"), "-r", str(app / "pylock.toml")]]
    python_env.provision_env(spec_for(app, local_extra_deps=[]), env)
    assert (env / MARKER).exists() and (env / "bin" / "python").exists()


def test_provision_with_local_extra_deps(app, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestPythonEnvironment::test_provision_with_local_extra_deps"""
    deps = [Path("/test/wheel1.whl"), Path("/test/wheel2.whl")]
    steps = python_env._provision_steps(spec_for(app, local_extra_deps=deps), tmp_path, "/usr/bin/uv")
    assert len(steps) == 3
    assert steps[2] == ["/usr/bin/uv", "pip", "install", "-p", str(tmp_path / "bin/python"), "--no-deps",
                        "/test/wheel1.whl", "/test/wheel2.whl"]


def test_provision_with_refresh_flag(app, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestPythonEnvironment::test_provision_with_refresh_flag"""
    assert "--reinstall" in python_env._provision_steps(spec_for(app, refresh=True), tmp_path, "/usr/bin/uv")[1]
    assert "--reinstall" not in python_env._provision_steps(spec_for(app), tmp_path, "/usr/bin/uv")[1]


def package_lines(caplog) -> list[str]:
    """The DEBUG records of the package listing."""
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.DEBUG and r.getMessage().startswith("[python_env] ")]


def test_log_packages(app, tmp_path, caplog):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestPythonEnvironment::test_log_packages"""
    caplog.set_level(logging.DEBUG, logger="labflows")
    python_env.provision_env(spec_for(app), tmp_path / "env")
    assert any("tinypkg" in line and "0.1" in line for line in package_lines(caplog))


def test_log_packages_logs_one_record_per_line(tmp_path, caplog):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestPythonEnvironment::test_log_packages_logs_one_record_per_line"""
    fake_uv = tmp_path / "uv"
    fake_uv.write_text("#!/bin/sh\nprintf 'package1==1.0\\npackage2==2.0\\n'\n")
    fake_uv.chmod(0o755)
    caplog.set_level(logging.DEBUG, logger="labflows")
    python_env.log_packages(tmp_path / "env", str(fake_uv))
    assert package_lines(caplog) == ["[python_env] package1==1.0", "[python_env] package2==2.0"]


# --- TestCachedEnvironmentStrategy ---

def test_cached_get_environment_returns_python_environment(app, built):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCachedEnvironmentStrategy::test_get_environment_returns_python_environment"""
    assert built == cache_root() / "envs" / env_hash(spec_for(app))
    assert cached_env(spec_for(app)) == built


def test_provisions_when_not_provisioned(app, built):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCachedEnvironmentStrategy::test_provisions_when_not_provisioned"""
    assert (built / MARKER).exists() and (built / "bin" / "python").exists()
    assert (cache_root() / "envs" / f"{env_hash(spec_for(app))}.lock").exists()


def test_does_not_log_packages_when_already_provisioned(app, built, caplog):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCachedEnvironmentStrategy::test_does_not_log_packages_when_already_provisioned"""
    (built / "sentinel").write_text("x")
    caplog.set_level(logging.DEBUG, logger="labflows")
    assert cached_env(spec_for(app)) == built
    assert package_lines(caplog) == [] and (built / "sentinel").exists()  # reused, not touched


def test_compute_env_hash_includes_hostname(app, monkeypatch):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCachedEnvironmentStrategy::test_compute_env_hash_includes_hostname"""
    monkeypatch.setattr(python_env.socket, "gethostname", lambda: "test-host")
    first = env_hash(spec_for(app))
    monkeypatch.setattr(python_env.socket, "gethostname", lambda: "other-host")
    assert env_hash(spec_for(app)) != first


def test_compute_env_hash_includes_python_version(app):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCachedEnvironmentStrategy::test_compute_env_hash_includes_python_version"""
    assert env_hash(spec_for(app, python_version="3.12")) != env_hash(spec_for(app, python_version="3.13"))


def test_compute_env_hash_includes_pylock_mtime(tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCachedEnvironmentStrategy::test_compute_env_hash_includes_pylock_mtime"""
    lock = tmp_path / "pylock.toml"
    lock.write_text("packages = []\n")
    spec = CommandPythonEnv(type="python_env", pylock=lock, command="s.py")
    os.utime(lock, (1000, 1000))
    first = env_hash(spec)
    os.utime(lock, (2000, 2000))
    assert env_hash(spec) != first


def test_compute_env_hash_includes_local_deps(app):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCachedEnvironmentStrategy::test_compute_env_hash_includes_local_deps"""
    assert env_hash(spec_for(app, local_extra_deps=[])) != env_hash(spec_for(app, local_extra_deps=[Path("/t/w.whl")]))


def test_get_cache_path_uses_xdg_cache_home(app, monkeypatch):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCachedEnvironmentStrategy::test_get_cache_path_uses_xdg_cache_home"""
    monkeypatch.setenv("XDG_CACHE_HOME", "/custom/cache")
    assert cache_root() == Path("/custom/cache/bfabric_app_runner")


def test_uses_file_locking(app, built):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestCachedEnvironmentStrategy::test_uses_file_locking"""
    lock = cache_root() / "envs" / f"{env_hash(spec_for(app))}.lock"
    result: list[Path] = []
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        worker = threading.Thread(target=lambda: result.append(cached_env(spec_for(app))))
        worker.start()
        assert waits_on_lock(lock)  # even a provisioned env is looked up under the lock
        assert result == []
        fcntl.flock(held, fcntl.LOCK_UN)
    worker.join(timeout=60)
    assert result == [built]


# --- TestEphemeralEnvironmentStrategy ---

def test_ephemeral_get_environment_returns_python_environment(app):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestEphemeralEnvironmentStrategy::test_get_environment_returns_python_environment"""
    with ephemeral_env(spec_for(app, refresh=True)) as env_dir:
        assert env_dir.parent == cache_root() / "ephemeral" and env_dir.name.startswith("env_")
        assert (env_dir / "bin" / "tiny-hello").exists()
    assert not env_dir.exists()


def test_always_provisions(app, built):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestEphemeralEnvironmentStrategy::test_always_provisions"""
    with ephemeral_env(spec_for(app, refresh=True)) as env_dir:
        assert env_dir != built and (env_dir / MARKER).exists()  # a cached env of the same spec is not used


def test_uses_cache_directory_for_temp(app, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestEphemeralEnvironmentStrategy::test_uses_cache_directory_for_temp"""
    report = run_report(app, tmp_path, refresh=True)
    assert Path(report["exe"]).parent.parent.parent == cache_root() / "ephemeral"


# --- TestExecuteCommandPythonEnv ---

def test_executes_with_cached_environment(app, built, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestExecuteCommandPythonEnv::test_executes_with_cached_environment"""
    assert Path(run_report(app, tmp_path)["exe"]).parent == built / "bin"


def test_executes_with_ephemeral_environment(app, built, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestExecuteCommandPythonEnv::test_executes_with_ephemeral_environment"""
    used = Path(run_report(app, tmp_path, refresh=True)["exe"]).parent.parent
    assert used != built and used.parent == cache_root() / "ephemeral"
    assert not used.exists()  # cleaned up after the run


def test_no_cleanup_for_cached_environment(app, built, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestExecuteCommandPythonEnv::test_no_cleanup_for_cached_environment"""
    run_report(app, tmp_path)
    assert (built / MARKER).exists() and (built / "bin" / "tiny-hello").exists()


def test_passes_arguments_to_command(app, built, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestExecuteCommandPythonEnv::test_passes_arguments_to_command"""
    assert run_report(app, tmp_path, "arg1", "arg 2", "$arg3")["argv"] == ["arg1", "arg 2", "$arg3"]


def test_includes_venv_bin_in_prepend_paths(app, built, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestExecuteCommandPythonEnv::test_includes_venv_bin_in_prepend_paths"""
    assert run_report(app, tmp_path)["path"].split(":")[0] == str(built / "bin")


def test_preserves_custom_prepend_paths(app, built, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestExecuteCommandPythonEnv::test_preserves_custom_prepend_paths"""
    report = run_report(app, tmp_path, prepend_paths=[Path("/custom/bin1"), Path("/custom/bin2")])
    assert report["path"].split(":")[:3] == [str(built / "bin"), "/custom/bin1", "/custom/bin2"]


def test_passes_environment_variables(app, built, tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestExecuteCommandPythonEnv::test_passes_environment_variables"""
    assert run_report(app, tmp_path, env={"GREETING": "value1", "VAR2": "value2"})["greeting"] == "value1"


def test_cleanup_on_exception_with_refresh(app, tmp_path, monkeypatch):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestExecuteCommandPythonEnv::test_cleanup_on_exception_with_refresh"""
    monkeypatch.setenv("TINY_EXIT", "3")
    with pytest.raises(CommandFailedError, match="exit code 3"):
        run_report(app, tmp_path, refresh=True)
    assert list((cache_root() / "ephemeral").iterdir()) == []


# --- TestEnsureExecutable ---

def test_uses_bin_script_when_exists(tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestEnsureExecutable::test_uses_bin_script_when_exists"""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "my-script").touch()
    assert python_env_argv(tmp_path, "my-script arg1", ["arg2"]) == [str(tmp_path / "bin/my-script"), "arg1", "arg2"]


def test_falls_back_to_python_when_script_missing(tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestEnsureExecutable::test_falls_back_to_python_when_script_missing"""
    assert python_env_argv(tmp_path, "my-script.py arg1", ["arg2"]) == [
        str(tmp_path / "bin/python"), "my-script.py", "arg1", "arg2"]


def test_handles_script_with_no_args(tmp_path):
    """upstream: tests/bfabric_app_runner/commands/test_command_python_env.py::TestEnsureExecutable::test_handles_script_with_no_args"""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "my-script").touch()
    assert python_env_argv(tmp_path, "my-script", []) == [str(tmp_path / "bin/my-script")]
