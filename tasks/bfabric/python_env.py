"""``python_env`` commands: run an app inside a virtual environment built from its pylock.toml.

Environments are cached under ``${XDG_CACHE_HOME:-~/.cache}/bfabric_app_runner/envs/<hash>``, the
hash being the first 16 hex digits of
``sha256("<hostname>:<python_version>:<abs pylock>:<pylock mtime>[:<dep>,<dep>…]")``, the same
recipe as bfabric-app-runner, so both share their caches. Building an environment holds an
exclusive ``fcntl.flock`` on ``envs/<hash>.lock``; a finished one carries the marker file
``.provisioned`` and is reused as is. After a build its packages are logged at DEBUG, one line
each. ``refresh: true`` builds a throw-away environment under ``…/ephemeral/env_*`` and deletes
it afterwards, even when a step fails.

Provisioning uses ``uv`` when it is on PATH::

    uv venv -p PY ENV
    uv pip install -p ENV/bin/python -r PYLOCK [--reinstall]
    uv pip install -p ENV/bin/python --no-deps DEP…

Without uv it falls back to ``pythonPY -m venv`` and pip. pip cannot read pylock.toml, so the
``[[packages]]`` of the lock are turned into ``name==version`` requirements: this pins the same
versions but ignores the lock's wheel URLs and hashes, and packages without a version (directory
or VCS entries) are installed by name only. Prefer uv in production.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Iterator, Sequence

from specs.bfabric.app_commands import CommandPythonEnv
from tasks.bfabric.commands import command_env, run_argv
from tasks.runtime.logs import run_logger

__all__ = [
    "MARKER",
    "PythonEnvError",
    "cache_root",
    "cached_env",
    "env_hash",
    "env_hash_input",
    "ephemeral_env",
    "find_uv",
    "log_packages",
    "pylock_requirements",
    "provision_env",
    "python_env_argv",
    "run_python_env",
]

MARKER = ".provisioned"
_LOG_PREFIX = "[python_env] "


class PythonEnvError(RuntimeError):
    """The environment cannot be built (missing pylock, missing interpreter, bad lock file)."""


def cache_root() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/bfabric_app_runner``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "bfabric_app_runner"


def env_hash_input(spec: CommandPythonEnv) -> str:
    """The text hashed into the environment's cache key."""
    pylock = Path(spec.pylock).expanduser().absolute()
    try:
        mtime = pylock.stat().st_mtime
    except FileNotFoundError:
        raise PythonEnvError(f"pylock file not found: {pylock}") from None
    text = f"{socket.gethostname()}:{spec.python_version}:{pylock}:{mtime}"
    if spec.local_extra_deps:
        text += ":" + ",".join(str(Path(dep).expanduser().absolute()) for dep in spec.local_extra_deps)
    return text


def env_hash(spec: CommandPythonEnv) -> str:
    """The cache key of ``spec``'s environment: 16 hex digits."""
    return hashlib.sha256(env_hash_input(spec).encode()).hexdigest()[:16]


def find_uv(path: str | None = None) -> str | None:
    """The ``uv`` on ``path`` (default: PATH), if any."""
    return shutil.which("uv", path=path)


def pylock_requirements(pylock: Path) -> list[str]:
    """``name==version`` (or ``name``) for every ``[[packages]]`` entry of a pylock.toml."""
    try:
        data = tomllib.loads(Path(pylock).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PythonEnvError(f"cannot read pylock file {pylock}: {exc}") from None
    reqs = []
    for i, package in enumerate(data.get("packages", [])):
        name = package.get("name") if isinstance(package, dict) else None
        if not isinstance(name, str) or not name:
            raise PythonEnvError(f"{pylock}: packages[{i}] has no name")
        version = package.get("version")
        reqs.append(f"{name}=={version}" if version else name)
    return reqs


def _interpreter(version: str, path: str | None) -> str:
    """A Python interpreter of ``version`` for the pip fallback."""
    found = shutil.which(f"python{version}", path=path)
    if found:
        return found
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    raise PythonEnvError(f"Python {version} not found (no python{version} on PATH, and uv is not installed)")


def _provision_steps(spec: CommandPythonEnv, env_dir: Path, uv: str | None,
                     path: str | None = None) -> list[list[str]]:
    """The commands that build ``env_dir`` (see the module docstring); ``path`` is searched for Python."""
    py = str(env_dir / "bin" / "python")
    pylock = str(Path(spec.pylock).expanduser().absolute())
    deps = [str(Path(d).expanduser().absolute()) for d in spec.local_extra_deps]
    if uv:
        steps = [[uv, "venv", "-p", spec.python_version, str(env_dir)],
                 [uv, "pip", "install", "-p", py, "-r", pylock, *(["--reinstall"] if spec.refresh else [])]]
        if deps:
            steps.append([uv, "pip", "install", "-p", py, "--no-deps", *deps])
        return steps
    steps = [[_interpreter(spec.python_version, path), "-m", "venv", str(env_dir)]]
    reqs = pylock_requirements(Path(pylock))
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check"]
    if reqs:
        steps.append([*pip, *(["--force-reinstall"] if spec.refresh else []), *reqs])
    if deps:
        steps.append([*pip, "--no-deps", *deps])
    return steps


def provision_env(spec: CommandPythonEnv, env_dir: Path, *, log_file: Path | None = None) -> None:
    """Build ``env_dir`` from scratch and mark it provisioned; raises CommandFailedError/PythonEnvError."""
    if not Path(spec.pylock).expanduser().is_file():
        raise PythonEnvError(f"pylock file not found: {spec.pylock}")
    # like the app's own command, provisioning sees the spec's env and prepend_paths (a uv found there wins)
    env = command_env(spec.prepend_paths, spec.env)
    uv = find_uv(env.get("PATH"))
    run_logger().info("%sbuilding %s with %s", _LOG_PREFIX, env_dir, "uv" if uv else "venv + pip (uv not found)")
    for argv in _provision_steps(spec, env_dir, uv, env.get("PATH")):
        run_argv(argv, cwd=None, env=env, log_file=log_file, prefix=_LOG_PREFIX)
    (env_dir / MARKER).touch()
    log_packages(env_dir, uv)


def log_packages(env_dir: Path, uv: str | None) -> None:
    """Log the environment's packages at DEBUG, one record per line (as upstream after a build)."""
    py = str(env_dir / "bin" / "python")
    argv = [uv, "pip", "list", "-p", py] if uv else [py, "-m", "pip", "list", "--disable-pip-version-check"]
    try:
        listing = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:  # a listing is information, never a failure
        run_logger().debug("%scannot list packages: %s", _LOG_PREFIX, exc)
        return
    for line in listing.splitlines():
        if line.strip():
            run_logger().debug("%s%s", _LOG_PREFIX, line)


def cached_env(spec: CommandPythonEnv, *, log_file: Path | None = None) -> Path:
    """The cached environment of ``spec``, built first (under the lock) unless already provisioned."""
    envs = cache_root() / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    key = env_hash(spec)
    env_dir = envs / key
    with open(envs / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (env_dir / MARKER).exists():
                return env_dir
            if env_dir.exists():  # left over from an interrupted build
                shutil.rmtree(env_dir)
            provision_env(spec, env_dir, log_file=log_file)
            return env_dir
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def ephemeral_env(spec: CommandPythonEnv, *, log_file: Path | None = None) -> Iterator[Path]:
    """A freshly built environment under ``…/ephemeral/env_*``, deleted on exit whatever happens."""
    root = cache_root() / "ephemeral"
    root.mkdir(parents=True, exist_ok=True)
    env_dir = Path(tempfile.mkdtemp(prefix="env_", dir=root))
    try:
        provision_env(spec, env_dir, log_file=log_file)
        yield env_dir
    finally:
        shutil.rmtree(env_dir, ignore_errors=True)


def python_env_argv(env_dir: Path, command: str, args: Sequence[str]) -> list[str]:
    """``ENV/bin/<argv0> …`` when the env has that program, else ``ENV/bin/python <argv…>``."""
    argv = [*shlex.split(command), *map(str, args)]
    bin_dir = env_dir / "bin"
    if argv and "/" not in argv[0] and (bin_dir / argv[0]).exists():
        return [str(bin_dir / argv[0]), *argv[1:]]
    return [str(bin_dir / "python"), *argv]


def run_python_env(spec: CommandPythonEnv, args: Sequence[str], *, cwd: Path | str,
                   log_file: Path | None = None, prefix: str = "") -> None:
    """Run a python_env command: provision (or reuse) its environment, then run inside it."""
    def run_in(env_dir: Path) -> None:
        env = command_env([env_dir / "bin", *spec.prepend_paths], spec.env)
        run_argv(python_env_argv(env_dir, spec.command, args), cwd=cwd, env=env, log_file=log_file, prefix=prefix)

    if spec.refresh:
        with ephemeral_env(spec, log_file=log_file) as env_dir:
            run_in(env_dir)
    else:
        run_in(cached_env(spec, log_file=log_file))
