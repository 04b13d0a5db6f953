"""The example seed data, seeding rules, and the ``bfabric-standin`` command."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from bfabric import Bfabric
from bfabric.experimental.workunit_definition import WorkunitDefinition

from standin.seed import load_seed
from standin.server import DEFAULT_PASSWORD, StandinServer
from tests.support.paths import REPO_ROOT as REPO
from tests.support.standin import EXAMPLE_SEED, row_counts, running_standin


def test_example_input_checksums_match_the_files() -> None:
    seed = load_seed(EXAMPLE_SEED)
    storages = {s["id"]: s for s in seed["storage"]}
    assert "${seed_dir}" not in str(seed)
    for resource in seed["resource"]:
        basepath = storages[resource["storage"]]["basepath"]
        assert basepath.endswith("/") and Path(basepath).is_absolute()
        data = Path(basepath, resource["relativepath"]).read_bytes()
        assert hashlib.md5(data).hexdigest() == resource["filechecksum"]
        assert len(data) == resource["size"] and data.count(b"\n") >= 3


def test_example_workunits_give_workunit_definitions(standin_client: Bfabric) -> None:
    first = WorkunitDefinition.from_ref(1, standin_client)
    assert first.execution.resources == [1, 2, 3, 4]
    assert first.execution.raw_parameters["application_version"] == "1.0.0"
    reg = first.registration
    assert (reg.application_id, reg.container_id, reg.container_type, reg.storage_id, reg.user_id) == (
        1, 1, "project", 3, 1,
    )
    assert str(reg.storage_output_folder).startswith("p1/bfabric/Genomics/labflows_demo/")
    second = WorkunitDefinition.from_ref(2, standin_client)
    assert second.execution.dataset == 1 and second.execution.resources == []


def test_seeding_twice_changes_nothing(standin_server: StandinServer) -> None:
    before = row_counts(standin_server, "workunit", "resource", "parameter", "dataset")
    standin_server.seed(EXAMPLE_SEED)
    assert row_counts(standin_server, "workunit", "resource", "parameter", "dataset") == before


def test_seed_rejects_unknown_endpoints_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        load_seed({"workunits": [{"id": 1}]})
    with pytest.raises(ValueError, match="list of mappings"):
        load_seed({"workunit": {"id": 1}})


def test_seed_rows_without_id_get_fresh_ids() -> None:
    with running_standin({"project": [{"id": 7, "name": "a"}, {"name": "b"}]}) as server:
        assert [(p["id"], p["name"]) for p in server.rows("project")] == [(7, "a"), (8, "b")]


def _start_cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.run", "bfabric-standin", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_serves_seeded_data_until_terminated(tmp_path: Path) -> None:
    db = tmp_path / "standin.sqlite"
    proc = _start_cli("--port", "0", "--seed", str(EXAMPLE_SEED), "--db", str(db))
    try:
        lines = []
        while not lines or lines[-1] != "Ctrl-C to stop.":
            line = proc.stdout.readline()
            assert line, f"the stand-in exited early: {proc.stderr.read()}"
            lines.append(line.rstrip("\n"))
        assert lines[0].startswith("B-Fabric stand-in at http://localhost:")
        snippet = "\n".join(lines[lines.index(next(x for x in lines if "~/.bfabricpy.yml" in x)) + 1:-1])
        config = tmp_path / "bfabricpy.yml"
        config.write_text(snippet)
        client = Bfabric.connect(config_file_path=config)
        assert client.config.base_url == lines[0].split(" at ")[1]
        assert client.read("workunit", {"id": 1})[0]["status"] == "PENDING"  # B-Fabric shows workunit statuses so
        project_id = client.save("project", {"name": "made through the CLI"})[0]["id"]
    finally:
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=30)
    assert returncode == 130
    with running_standin(None, db_path=db) as server:
        assert [p["name"] for p in server.rows("project") if p["id"] == project_id] == ["made through the CLI"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--password", "short"], "exactly 32 characters"),
        (["--seed", "no/such/seed.yaml"], "seed file not found"),
    ],
)
def test_cli_usage_errors(args: list[str], message: str) -> None:
    proc = _start_cli("--port", "0", *args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.startswith("error: ") and message in err
    assert DEFAULT_PASSWORD not in out + err


def test_cli_snippet_is_the_only_place_the_password_is_printed() -> None:
    server = StandinServer()
    try:
        assert DEFAULT_PASSWORD not in repr(server)
        assert f"password: {DEFAULT_PASSWORD}" in server.config_snippet()
    finally:
        server.stop()


def test_environment_override_reaches_the_server(standin_server: StandinServer, monkeypatch) -> None:
    import json

    monkeypatch.setenv("BFABRICPY_CONFIG_OVERRIDE", json.dumps(standin_server.config_override()))
    client = Bfabric.connect()
    assert client.read("project", {"id": 1})[0]["name"] == "Labflows demo project"
    assert os.environ["BFABRICPY_CONFIG_OVERRIDE"]  # untouched by the client
