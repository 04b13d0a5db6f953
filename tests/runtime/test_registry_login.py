"""``+auth`` registry logins: the engine's ``login`` argv, the password on stdin only, the Secret block."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tasks.bclaw.registry_login import credentials, login_for_image, registry_of
from tasks.runtime.executors import EXECUTORS

PASSWORD = "s3cr3t $(touch PWNED) 'q"

RECORDER = """#!{python}
import json, sys
with open({record!r}, "a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "stdin": sys.stdin.read()}}) + "\\n")
if {fail}:
    print("Error: unauthorized: bad password " + {password!r}, file=sys.stderr)
    sys.exit(1)
"""


def recording_engine(tmp_path: Path, monkeypatch, name: str, fail: bool = False) -> Path:
    """An executable ``name`` first on PATH recording its argv and stdin; returns the record file."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    record = tmp_path / f"{name}-calls.jsonl"
    (bindir / name).write_text(RECORDER.format(python=sys.executable, record=str(record), fail=fail,
                                               password=PASSWORD))
    (bindir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    return record


def calls(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_login_argv_with_the_password_on_stdin_only(tmp_path, monkeypatch, engine):
    record = recording_engine(tmp_path, monkeypatch, engine)
    EXECUTORS[engine].login("registry.example.com:5000", "bot", PASSWORD)
    assert calls(record) == [{"argv": ["login", "--username", "bot", "--password-stdin", "registry.example.com:5000"],
                              "stdin": PASSWORD}]


def test_a_failed_login_is_one_line_without_the_password(tmp_path, monkeypatch):
    recording_engine(tmp_path, monkeypatch, "podman", fail=True)
    with pytest.raises(RuntimeError) as info:
        EXECUTORS["podman"].login("r.example.com", "bot", PASSWORD)
    message = str(info.value)
    assert message == "podman login to r.example.com as bot failed (exit 1): Error: unauthorized: bad password ***"


@pytest.mark.parametrize(("image", "registry"), [
    ("ubuntu", "docker.io"), ("library/ubuntu:22.04", "docker.io"), ("localhost/busybox:test", "localhost"),
    ("123.dkr.ecr.us-east-1.amazonaws.com/tools/bwa:1", "123.dkr.ecr.us-east-1.amazonaws.com"),
    ("registry:5000/a/b", "registry:5000"),
])
def test_registry_of(image, registry):
    assert registry_of(image) == registry


@pytest.mark.parametrize("value", ["user:pass", {"username": "u"}, {"username": "u", "password": 1}, ["u", "p"]])
def test_credentials_of_the_wrong_shape_are_refused_without_echoing_them(value):
    with pytest.raises(ValueError) as info:
        credentials(value, "regcreds")
    assert str(info.value) == 'secret \'regcreds\': expected {"username": …, "password": …}'


@pytest.mark.usefixtures("prefect_harness")
def test_login_for_image_reads_the_secret_block(tmp_path, monkeypatch):
    from prefect.blocks.system import Secret

    Secret(value=json.dumps({"username": "bot", "password": PASSWORD})).save("regcreds-login", overwrite=True)
    record = recording_engine(tmp_path, monkeypatch, "docker")
    login_for_image("registry.example.com/tools/bwa:1", "regcreds-login", "local")
    assert calls(record) == []  # no container, no login
    login_for_image("registry.example.com/tools/bwa:1", "regcreds-login", "docker")
    assert calls(record) == [{"argv": ["login", "--username", "bot", "--password-stdin", "registry.example.com"],
                              "stdin": PASSWORD}]


def test_login_without_the_engine_says_so(monkeypatch, tmp_path):
    from tasks.runtime.executors import ExecutorUnavailable

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ExecutorUnavailable, match="executor podman: no 'podman' command on PATH"):
        EXECUTORS["podman"].login("r.example.com", "bot", PASSWORD)
