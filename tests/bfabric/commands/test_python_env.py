"""python_env commands: cache key, lock, reuse via marker, refresh clean-up, uv and pip provisioning.

Environments are built for real (uv when it is installed, else venv + pip) from an empty pylock
plus a tiny wheel made here, so nothing is downloaded.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import socket
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from specs.bfabric.app_commands import CommandPythonEnv
from tasks.bfabric import python_env
from tasks.bfabric.commands import CommandFailedError, run_command
from tasks.bfabric.python_env import (
    MARKER,
    PythonEnvError,
    cache_root,
    cached_env,
    env_hash,
    env_hash_input,
    ephemeral_env,
    pylock_requirements,
    python_env_argv,
)

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
UV = shutil.which("uv") or (str(Path(sys.executable).parent / "uv")
                            if (Path(sys.executable).parent / "uv").exists() else None)

TINY_MAIN = '''import json, os, sys


def main():
    with open(sys.argv[1], "w") as f:
        json.dump({"exe": sys.executable, "argv": sys.argv[2:], "path": os.environ["PATH"],
                   "greeting": os.environ.get("GREETING")}, f)
    sys.exit(int(os.environ.get("TINY_EXIT", "0")))
'''


def build_wheel(directory: Path) -> Path:
    """A pure-Python wheel ``tinypkg`` with a ``tiny-hello`` script and ``python -m tinypkg``."""
    files = {
        "tinypkg/__init__.py": TINY_MAIN,
        "tinypkg/__main__.py": "from tinypkg import main\nmain()\n",
        "tinypkg-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n",
        "tinypkg-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: labflows-test\nRoot-Is-Purelib: true\n"
                                       "Tag: py3-none-any\n",
        "tinypkg-0.1.dist-info/entry_points.txt": "[console_scripts]\ntiny-hello = tinypkg:main\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("tinypkg-0.1.dist-info/RECORD,,")
    path = directory / "tinypkg-0.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        zf.writestr("tinypkg-0.1.dist-info/RECORD", "\n".join(record) + "\n")
    return path


@pytest.fixture
def app(tmp_path, monkeypatch):
    """An app directory with an empty pylock and the tiny wheel; caches under tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "pylock.toml").write_text('lock-version = "1.0"\ncreated-by = "labflows-test"\npackages = []\n')
    build_wheel(app_dir)
    return app_dir


def spec_for(app_dir: Path, command: str = "tiny-hello", **kw) -> CommandPythonEnv:
    return CommandPythonEnv(type="python_env", pylock=app_dir / "pylock.toml", command=command,
                            python_version=kw.pop("python_version", PY),
                            local_extra_deps=kw.pop("local_extra_deps", [app_dir / "tinypkg-0.1-py3-none-any.whl"]),
                            **kw)


def use_installer(name: str, monkeypatch, tmp_path: Path) -> str:
    """PATH with uv (as `uv`) or without it, plus the system directories."""
    bin_dir = tmp_path / "installer-bin"
    bin_dir.mkdir()
    if name == "uv":
        if UV is None:
            pytest.skip("uv is not installed")
        (bin_dir / "uv").symlink_to(UV)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    assert (python_env.find_uv() is not None) == (name == "uv")
    return name


@pytest.fixture(params=["uv", "pip"])
def installer(request, monkeypatch, tmp_path):
    """Each installer in turn: uv, then the venv + pip fallback."""
    return use_installer(request.param, monkeypatch, tmp_path)


@pytest.fixture
def fast_installer(monkeypatch, tmp_path):
    """uv when it is installed (fast), else the pip fallback."""
    return use_installer("uv" if UV else "pip", monkeypatch, tmp_path)


def test_default_python_version_is_313():
    spec = CommandPythonEnv(type="python_env", pylock=Path("p.toml"), command="x")
    assert spec.python_version == "3.13" and spec.refresh is False and spec.local_extra_deps == []


def test_cache_root(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "bfabric_app_runner"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_root() == tmp_path / "home" / ".cache" / "bfabric_app_runner"


def test_env_hash_inputs(app, monkeypatch):
    spec = spec_for(app)
    pylock = app / "pylock.toml"
    wheel = app / "tinypkg-0.1-py3-none-any.whl"
    expected = f"{socket.gethostname()}:{PY}:{pylock}:{pylock.stat().st_mtime}:{wheel}"
    two = spec_for(app, local_extra_deps=[wheel, app / "b.whl"])
    assert env_hash_input(two) == f"{socket.gethostname()}:{PY}:{pylock}:{pylock.stat().st_mtime}:{wheel},{app}/b.whl"
    assert env_hash_input(spec_for(app, local_extra_deps=[])) == expected.rsplit(":", 1)[0]
    assert env_hash_input(spec) == expected
    assert env_hash(spec) == hashlib.sha256(expected.encode()).hexdigest()[:16]
    base = env_hash(spec)
    assert env_hash(spec_for(app)) == base  # deterministic
    assert env_hash(spec_for(app, python_version="3.12")) != base
    assert env_hash(spec_for(app, local_extra_deps=[])) != base
    monkeypatch.setattr(python_env.socket, "gethostname", lambda: "other-host")
    assert env_hash(spec) != base
    monkeypatch.undo()
    os.utime(pylock, (1_000_000, 1_000_000))
    assert env_hash(spec) != base
    with pytest.raises(PythonEnvError, match="pylock file not found"):
        env_hash(spec.model_copy(update={"pylock": app / "missing.toml"}))


def test_argv_prefers_env_scripts(tmp_path):
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "my-script").write_text("")
    assert python_env_argv(env, "my-script a", ["b"]) == [str(env / "bin/my-script"), "a", "b"]
    assert python_env_argv(env, "other-script a", []) == [str(env / "bin/python"), "other-script", "a"]
    assert python_env_argv(env, "-m pkg.mod 'x y'", ["c"]) == [str(env / "bin/python"), "-m", "pkg.mod", "x y", "c"]


def test_pylock_requirements(tmp_path):
    lock = tmp_path / "pylock.toml"
    lock.write_text('lock-version = "1.0"\n[[packages]]\nname = "polars"\nversion = "1.2.3"\n'
                    '[[packages]]\nname = "local-thing"\n[packages.directory]\npath = "."\n')
    assert pylock_requirements(lock) == ["polars==1.2.3", "local-thing"]
    lock.write_text("not toml [")
    with pytest.raises(PythonEnvError, match="cannot read pylock"):
        pylock_requirements(lock)


def test_provision_steps_with_uv(app):
    env = Path("/cache/envs/abc")
    steps = python_env._provision_steps(spec_for(app, refresh=True), env, "/bin/uv")
    assert steps == [
        ["/bin/uv", "venv", "-p", PY, str(env)],
        ["/bin/uv", "pip", "install", "-p", f"{env}/bin/python", "-r", str(app / "pylock.toml"), "--reinstall"],
        ["/bin/uv", "pip", "install", "-p", f"{env}/bin/python", "--no-deps",
         str(app / "tinypkg-0.1-py3-none-any.whl")]]
    assert "--reinstall" not in python_env._provision_steps(spec_for(app), env, "/bin/uv")[1]


def read_report(path: Path) -> dict:
    return json.loads(path.read_text())


def test_run_builds_caches_and_reuses_env(app, installer, tmp_path):
    out = tmp_path / "out.json"
    spec = spec_for(app, env={"GREETING": "hi"})
    run_command(spec, [str(out), "arg"], cwd=tmp_path)
    env_dir = cache_root() / "envs" / env_hash(spec)
    report = read_report(out)
    assert report["argv"] == ["arg"] and report["greeting"] == "hi"
    assert Path(report["exe"]).parent == env_dir / "bin"  # ran as ENV/bin/tiny-hello, inside the env
    assert report["path"].split(":")[0] == str(env_dir / "bin")
    assert (env_dir / MARKER).exists() and (cache_root() / "envs" / f"{env_hash(spec)}.lock").exists()

    # reuse: the marker is there, so the env is not rebuilt (a file we drop survives)
    (env_dir / "sentinel").write_text("x")
    run_command(spec_for(app, command="-m tinypkg"), [str(out), "again"], cwd=tmp_path)
    assert (env_dir / "sentinel").exists() and read_report(out)["argv"] == ["again"]

    # a half-built env (no marker) is rebuilt from scratch
    (env_dir / MARKER).unlink()
    assert cached_env(spec) == env_dir
    assert not (env_dir / "sentinel").exists() and (env_dir / MARKER).exists()


def test_refresh_env_is_deleted_after_success_and_failure(app, fast_installer, tmp_path, monkeypatch):
    out = tmp_path / "out.json"
    ephemeral = cache_root() / "ephemeral"
    run_command(spec_for(app, refresh=True), [str(out)], cwd=tmp_path)
    used = Path(read_report(out)["exe"]).parent.parent
    assert used.parent == ephemeral and used.name.startswith("env_")
    assert not used.exists() and list(ephemeral.iterdir()) == []
    assert not (cache_root() / "envs").exists() or not any((cache_root() / "envs").iterdir())

    monkeypatch.setenv("TINY_EXIT", "4")
    with pytest.raises(CommandFailedError, match="exit code 4"):
        run_command(spec_for(app, refresh=True), [str(out)], cwd=tmp_path)
    assert list(ephemeral.iterdir()) == []

    # provisioning itself fails (a missing local dependency): still cleaned up
    broken = spec_for(app, refresh=True, local_extra_deps=[app / "missing-0.1-py3-none-any.whl"])
    with pytest.raises(CommandFailedError):
        run_command(broken, [str(out)], cwd=tmp_path)
    assert list(ephemeral.iterdir()) == []


def test_ephemeral_env_deleted_when_the_block_raises(app, fast_installer):
    with pytest.raises(KeyError):
        with ephemeral_env(spec_for(app, refresh=True)) as env_dir:
            assert (env_dir / MARKER).exists()
            raise KeyError("boom")
    assert not env_dir.exists()


def waits_on_lock(path: Path, timeout_s: float = 30.0) -> bool:
    """Whether some process blocks on a flock of ``path`` within ``timeout_s`` (``->`` lines of
    /proc/locks: a waiter, with the file's device:inode as the 6th field after the arrow)."""
    inode = str(path.stat().st_ino)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if len(fields) > 6 and fields[1] == "->" and fields[6].rsplit(":", 1)[-1] == inode:
                return True
        time.sleep(0.02)
    return False


def test_provisioning_waits_for_the_lock(app, fast_installer):
    spec = spec_for(app)
    envs = cache_root() / "envs"
    envs.mkdir(parents=True)
    result: list[Path] = []
    lock = envs / f"{env_hash(spec)}.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        worker = threading.Thread(target=lambda: result.append(cached_env(spec)))
        worker.start()
        assert waits_on_lock(lock)  # the worker is blocked on the lock (no fixed sleep)
        assert worker.is_alive() and not (envs / env_hash(spec)).exists()
        fcntl.flock(held, fcntl.LOCK_UN)
    worker.join(timeout=120)
    assert result == [envs / env_hash(spec)] and (result[0] / MARKER).exists()


def test_missing_pylock_and_interpreter(app, monkeypatch, tmp_path):
    spec = spec_for(app).model_copy(update={"pylock": app / "nope.toml"})
    with pytest.raises(PythonEnvError, match="pylock file not found"):
        run_command(spec, [], cwd=tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # neither uv nor python9.9
    with pytest.raises(PythonEnvError, match=r"Python 9.9 not found"):
        run_command(spec_for(app, python_version="9.9"), [], cwd=tmp_path)
