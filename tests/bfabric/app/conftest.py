"""Fixtures for the app flow tests: the seeded stand-in on a free port, reached by the real bfabric
client through ``BFABRICPY_CONFIG_OVERRIDE``, output storage in a temporary folder, and a record of
every workunit status the stand-in was asked to save and of every read it answered."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from standin.server import StandinServer
from standin.service import Service
from tests.support.paths import REPO_ROOT as ROOT
from tests.support.standin import ref_id, standin_server  # noqa: F401

APP_YML = ROOT / "examples" / "bfabric" / "app" / "app.yml"
OUTPUT_STORAGE_ID = 3  # the seed's local output storage


@dataclass
class AppEnv:
    """One test's B-Fabric stand-in, work directory and output storage folder."""

    server: StandinServer
    work_dir: Path
    storage_dir: Path
    status_saves: list[tuple[int, str]] = field(default_factory=list)
    reads: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (endpoint, query) answered
    app_yml: Path = APP_YML

    def reads_of(self, endpoint: str, **query: Any) -> int:
        """How many reads of ``endpoint`` asked for (at least) ``query``, e.g. ``reads_of("storage", id=3)``."""
        def asked(q: dict[str, Any], key: str, value: Any) -> bool:
            return str(value) in [str(v) for v in (q.get(key) if isinstance(q.get(key), list) else [q.get(key)])]
        return sum(1 for ep, q in self.reads if ep == endpoint and all(asked(q, k, v) for k, v in query.items()))

    def statuses(self, workunit_id: int = 1) -> list[str]:
        """Every status saved for ``workunit_id``, in order."""
        return [status for wid, status in self.status_saves if wid == workunit_id]

    def set_parameters(self, workunit_id: int = 1, **values: str) -> None:
        """Add APPLICATION parameters to a workunit (before its definition is read)."""
        rows = [{"id": 100 + i, "workunit": workunit_id, "key": key, "value": str(value), "context": "APPLICATION"}
                for i, (key, value) in enumerate(sorted(values.items()))]
        self.server.seed({"parameter": rows})

    def rows_of(self, endpoint: str, workunit_id: int = 1) -> list[dict[str, Any]]:
        """The stored ``endpoint`` rows that belong to ``workunit_id``."""
        return [r for r in self.server.rows(endpoint) if ref_id(r.get("workunit")) == workunit_id]

    def links_of(self, workunit_id: int = 1) -> list[dict[str, Any]]:
        """The links attached to ``workunit_id``."""
        return [r for r in self.server.rows("link")
                if int(r.get("parentid", 0) or 0) == workunit_id and r.get("parentclassname", "").lower() == "workunit"]

    def run_params(self, **extra: Any) -> dict[str, Any]:
        """Parameters of run_app / app_action for workunit 1 of this environment."""
        return {"app_yml": str(self.app_yml), "work_dir": str(self.work_dir), "workunit_ref": 1, **extra}


@pytest.fixture
def app_env(standin_server: StandinServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppEnv:
    """The example seed, its output storage moved to ``tmp_path``, the flow's bfabric config pointed at it."""
    storage_dir = tmp_path / "storage"
    standin_server.seed({"storage": [{"id": OUTPUT_STORAGE_ID, "name": "Local output storage", "host": "localhost",
                                      "basepath": f"{storage_dir}/", "protocol": "file",
                                      "projectfolderprefix": "p"}]})
    monkeypatch.setenv("BFABRICPY_CONFIG_OVERRIDE", json.dumps(standin_server.config_override()))
    env = AppEnv(server=standin_server, work_dir=tmp_path / "work", storage_dir=storage_dir)
    original_save = Service.save

    def recording_save(self: Service, etype: Any, items: list[Any], login: str) -> list[dict[str, Any]]:
        rows = original_save(self, etype, items, login)
        if etype.endpoint == "workunit":
            env.status_saves += [(int(i["id"]), str(i["status"])) for i in items
                                 if isinstance(i, dict) and "status" in i and "id" in i]
        return rows

    original_read = Service._read

    def recording_read(self: Service, etype: Any, params: dict[str, Any]) -> bytes:
        query = params.get("query")
        env.reads.append((etype.endpoint, dict(query) if isinstance(query, dict) else {}))
        return original_read(self, etype, params)

    monkeypatch.setattr(Service, "save", recording_save)
    monkeypatch.setattr(Service, "_read", recording_read)
    return env
