"""Pytest fixtures and helpers for tests that talk to the stand-in with the real ``bfabric`` client.

Use them from a ``conftest.py``::

    from tests.support.standin import fake_ssh, standin_client, standin_server  # noqa: F401

- ``running_standin(seed, db_path=…)``: the one way tests start a stand-in (127.0.0.1, free port,
  stopped afterwards), as a context manager;
- ``standin_server``: a :class:`~standin.server.StandinServer` from ``running_standin`` with an
  in-memory database seeded with ``examples/bfabric/seed.yaml``, stopped after the test;
- ``standin_client``: a real ``bfabric.Bfabric`` client for it;
- ``fake_ssh``: puts executables named ``ssh`` and ``scp`` first on PATH that record their argv
  (see :class:`FakeSsh`) and act locally: ``ssh HOST CMD…`` runs ``CMD…`` with ``sh -c``, ``scp SRC
  HOST:DST`` copies to the local path ``DST``. ``FAKE_SCP_FAIL_ON=text`` makes scp fail for targets
  containing ``text``.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from standin.server import StandinServer
from tests.support.paths import EXAMPLES

if TYPE_CHECKING:
    from bfabric import Bfabric

EXAMPLE_SEED = EXAMPLES / "bfabric" / "seed.yaml"

_SSH = '''\
import json, os, subprocess, sys
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps(["ssh", *sys.argv[1:]]) + "\\n")
sys.exit(subprocess.call(["sh", "-c", " ".join(sys.argv[2:])]))
'''

_SCP = '''\
import json, os, shutil, sys
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps(["scp", *sys.argv[1:]]) + "\\n")
source, target = sys.argv[1], sys.argv[2].split(":", 1)[1]
fail_on = os.environ.get("FAKE_SCP_FAIL_ON")
if fail_on and fail_on in target:
    sys.stderr.write("scp: simulated failure for " + target + "\\n")
    sys.exit(1)
shutil.copyfile(source, target)
'''


@dataclass
class FakeSsh:
    """The fake ``ssh``/``scp`` of one test: where they live and what they were called with."""

    bin_dir: Path
    log: Path

    def calls(self) -> list[list[str]]:
        """Every recorded argv, in order (``["ssh", ...]`` or ``["scp", ...]``)."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]


def install_fake_ssh(bin_dir: Path, log: Path) -> FakeSsh:
    """Write the fake ``ssh`` and ``scp`` executables into ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, body in (("ssh", _SSH), ("scp", _SCP)):
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{body}")
        path.chmod(0o755)
    return FakeSsh(bin_dir=bin_dir, log=log)


@pytest.fixture
def fake_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSsh:
    """Recording ``ssh``/``scp`` first on PATH for this test."""
    fake = install_fake_ssh(tmp_path / "fake-bin", tmp_path / "fake-ssh.log")
    monkeypatch.setenv("PATH", f"{fake.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_SSH_LOG", str(fake.log))
    monkeypatch.delenv("FAKE_SCP_FAIL_ON", raising=False)
    return fake


@contextmanager
def running_standin(seed: str | Path | Mapping[str, Any] | None = EXAMPLE_SEED, *,
                    db_path: str | Path | None = None) -> Iterator[StandinServer]:
    """A stand-in serving on 127.0.0.1 (free port) with ``seed`` loaded, stopped on exit.

    Example:
        >>> with running_standin(db_path=tmp_path / "db.sqlite") as server:  # doctest: +SKIP
        ...     server.client().read("project", {"id": 1})
    """
    server = StandinServer(port=0, db_path=db_path, seed=seed).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def standin_server() -> Iterator[StandinServer]:
    """A running stand-in seeded with the example data (in memory, free port)."""
    with running_standin() as server:
        yield server


@pytest.fixture
def standin_client(standin_server: StandinServer) -> Bfabric:
    """A real ``bfabric.Bfabric`` client for ``standin_server``."""
    return standin_server.client()


def row_counts(server: StandinServer, *endpoints: str) -> dict[str, int]:
    """How many rows each endpoint holds (to check that nothing was duplicated)."""
    return {endpoint: len(server.rows(endpoint)) for endpoint in endpoints}


def ref_id(value: Any) -> int | None:
    """The id of a stored reference (``{"classname": ..., "id": ...}``), else None."""
    return int(value["id"]) if isinstance(value, dict) and "id" in value else None


class SaveRecorder:
    """The real client, with every ``save`` call noted (endpoint, object) before it is sent."""

    def __init__(self, client: Bfabric) -> None:
        self._client = client
        self.saves: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def save(self, endpoint: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        self.saves.append((endpoint, copy.deepcopy(obj)))
        return self._client.save(endpoint, obj, *args, **kwargs)

    def saved(self, endpoint: str) -> list[Any]:
        """The objects saved to ``endpoint``, in order."""
        return [obj for ep, obj in self.saves if ep == endpoint]
