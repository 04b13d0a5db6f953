"""Fixtures for output registration: the seeded stand-in, a real client (with a save recorder), an scp storage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from bfabric import Bfabric

from specs.bfabric.outputs import OutputsSpec
from specs.bfabric.workunit import WorkunitDefinition
from standin.server import StandinServer
from tests.support.standin import FakeSsh, SaveRecorder, fake_ssh, standin_client, standin_server  # noqa: F401


@dataclass
class Setup:
    """One registration scenario: server, recording client, scp storage on a local folder, workunit 1."""

    server: StandinServer
    client: SaveRecorder
    ssh: FakeSsh
    remote: Path
    storage_id: int
    definition: WorkunitDefinition
    work: Path

    def outputs(self, *entries: dict[str, Any]) -> OutputsSpec:
        """An outputs spec from plain dicts."""
        return OutputsSpec.model_validate({"outputs": list(entries)})

    def write(self, name: str, text: str) -> Path:
        """A local output file in the work folder."""
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


@pytest.fixture
def setup(standin_server: StandinServer, standin_client: Bfabric, fake_ssh: FakeSsh, tmp_path: Path) -> Setup:
    """Workunit 1 of the example seed, registering to an scp storage served by the fake ssh/scp."""
    remote = tmp_path / "remote"
    remote.mkdir()
    storage = standin_client.save(
        "storage",
        {"name": "scp test storage", "host": "storagehost", "basepath": f"{remote}/", "protocol": "scp"},
    )
    storage_id = storage[0]["id"]
    definition = WorkunitDefinition.model_validate(
        {
            "execution": {"raw_parameters": {"application_version": "1.0.0"}, "resources": [1, 2, 3, 4]},
            "registration": {
                "application_id": 1,
                "application_name": "labflows_demo",
                "workunit_id": 1,
                "workunit_name": "Demo workunit",
                "container_id": 1,
                "container_type": "project",
                "storage_id": storage_id,
                "storage_output_folder": "out/folder",
                "user_id": 1,
            },
        }
    )
    work = tmp_path / "work"
    work.mkdir()
    return Setup(standin_server, SaveRecorder(standin_client), fake_ssh, remote, storage_id, definition, work)
