"""bfabric_copy_resource outputs: copy with ssh/scp (or locally), then the resource (reference behaviour 13)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from standin.server import DEFAULT_PASSWORD
from tasks.bfabric.register.outputs import (
    RegistrationError,
    register_outputs,
    set_workunit_status,
)
from tests.support.standin import ref_id


def _copy(local: Path, entry: str, **extra) -> dict:
    return {"type": "bfabric_copy_resource", "local_path": str(local), "store_entry_path": entry, **extra}


def _with_storage(setup, storage_id: int):
    """The test's workunit definition, registering to storage ``storage_id``."""
    registration = setup.definition.registration.model_copy(update={"storage_id": storage_id})
    return setup.definition.model_copy(update={"registration": registration})


def _resources_of_workunit_1(setup) -> list[dict]:
    return [r for r in setup.server.rows("resource") if ref_id(r.get("workunit")) == 1]


def test_resource_is_copied_with_scp_and_saved_without_id(setup) -> None:
    local = setup.write("result.txt", "line 1\nline 2\n")
    outputs = setup.outputs(_copy(local, "result.txt"))

    results = register_outputs(setup.client, outputs, setup.definition)

    target = f"{setup.remote}/out/folder/result.txt"
    assert setup.ssh.calls() == [
        ["ssh", "storagehost", "mkdir", "-p", f"{setup.remote}/out/folder"],
        ["scp", str(local), f"storagehost:{target}"],
    ]
    assert Path(target).read_text() == "line 1\nline 2\n"
    [saved] = setup.client.saved("resource")
    assert "id" not in saved
    assert saved["relativepath"] == "out/folder/result.txt" and saved["status"] == "available"
    [row] = _resources_of_workunit_1(setup)
    assert row["name"] == "result.txt"
    assert ref_id(row["storage"]) == setup.storage_id
    assert row["filechecksum"] == hashlib.md5(local.read_bytes()).hexdigest()
    assert row["size"] == 14
    assert results == [{"entity_type": "resource", "id": row["id"], "name": "result.txt", "action": "created"}]


def test_store_folder_and_ssh_user(setup) -> None:
    local = setup.write("deep/report.html", "<html/>")
    outputs = setup.outputs(_copy(local, "reports/report.html", store_folder_path="custom/place"))
    register_outputs(setup.client, outputs, setup.definition, ssh_user="bfuser")
    target = f"{setup.remote}/custom/place/reports/report.html"
    assert setup.ssh.calls() == [
        ["ssh", "bfuser@storagehost", "mkdir", "-p", f"{setup.remote}/custom/place/reports"],
        ["scp", str(local), f"bfuser@storagehost:{target}"],
    ]
    [row] = _resources_of_workunit_1(setup)
    assert (row["name"], row["relativepath"]) == ("report.html", "custom/place/reports/report.html")


def test_local_storage_copies_atomically(setup, tmp_path: Path) -> None:
    local_root = tmp_path / "local-storage"
    local_storage = {"name": "local", "basepath": f"{local_root}/", "protocol": "file"}
    storage_id = setup.client.save("storage", local_storage)[0]["id"]
    definition = _with_storage(setup, storage_id)
    local = setup.write("table.csv", "a,b\n1,2\n")
    outputs = setup.outputs(_copy(local, "table.csv"))
    register_outputs(setup.client, outputs, definition)
    target_dir = local_root / "out" / "folder"
    assert [p.name for p in target_dir.iterdir()] == ["table.csv"]  # no temporary file left behind
    assert (target_dir / "table.csv").read_text() == "a,b\n1,2\n"
    assert setup.ssh.calls() == []


def test_forced_storage_replaces_the_workunit_storage(setup, tmp_path: Path) -> None:
    forced = tmp_path / "forced.yml"
    forced.write_text(f"host: otherhost\nbasepath: {tmp_path}/forced/\nprotocol: scp\n")
    (tmp_path / "forced").mkdir()
    local = setup.write("f.txt", "x")
    outputs = setup.outputs(_copy(local, "f.txt"))
    register_outputs(setup.client, outputs, setup.definition, force_storage=forced)
    assert setup.ssh.calls()[-1] == ["scp", str(local), f"otherhost:{tmp_path}/forced/out/folder/f.txt"]
    [row] = _resources_of_workunit_1(setup)
    assert ref_id(row["storage"]) == setup.storage_id  # the resource still names the workunit's storage


def test_tus_is_not_implemented(setup) -> None:
    local = setup.write("f.txt", "x")
    outputs = setup.outputs(_copy(local, "f.txt", protocol="tus"))
    with pytest.raises(NotImplementedError):
        register_outputs(setup.client, outputs, setup.definition)
    assert setup.client.saves == [] and setup.ssh.calls() == []


def test_storage_without_scp_raises(setup) -> None:
    storage_id = setup.client.save("storage", {"name": "web", "basepath": "/x/", "protocol": "http"})[0]["id"]
    definition = _with_storage(setup, storage_id)
    local = setup.write("f.txt", "x")
    outputs = setup.outputs(_copy(local, "f.txt"))
    with pytest.raises(RegistrationError, match="only scp and local"):
        register_outputs(setup.client, outputs, definition)
    assert _resources_of_workunit_1(setup) == []


def test_missing_file_fails_before_anything_is_written(setup) -> None:
    good = setup.write("good.txt", "fine")
    outputs = setup.outputs(
        _copy(good, "good.txt"),
        _copy(setup.work / "missing.txt", "m.txt"),
    )
    with pytest.raises(RegistrationError, match="missing.txt does not exist"):
        register_outputs(setup.client, outputs, setup.definition)
    assert setup.client.saves == [] and setup.ssh.calls() == []


@pytest.mark.parametrize("policy", ["no", "if_exists", "required"])
def test_resource_policies(setup, policy: str) -> None:
    local = setup.write("r.txt", "v1")
    entry = _copy(local, "r.txt")
    if policy == "required":
        with pytest.raises(RegistrationError, match="does not exist and update_existing is 'required'"):
            register_outputs(setup.client, setup.outputs({**entry, "update_existing": policy}), setup.definition)
    register_outputs(setup.client, setup.outputs(entry), setup.definition)
    [first] = _resources_of_workunit_1(setup)

    local.write_text("v2, longer")
    if policy == "no":
        with pytest.raises(RegistrationError, match="already exists .* update_existing is 'no'"):
            register_outputs(setup.client, setup.outputs({**entry, "update_existing": policy}), setup.definition)
        assert _resources_of_workunit_1(setup) == [first]
        return
    [result] = register_outputs(setup.client, setup.outputs({**entry, "update_existing": policy}), setup.definition)
    [row] = _resources_of_workunit_1(setup)
    assert result == {"entity_type": "resource", "id": first["id"], "name": "r.txt", "action": "updated"}
    assert row["size"] == 10 and row["filechecksum"] != first["filechecksum"]
    assert setup.client.saved("resource")[-1]["id"] == first["id"]


def test_legacy_pending_placeholder_is_reused_when_asked(setup) -> None:
    placeholder = setup.client.save("resource", {"name": "WU1 output", "workunitid": 1, "status": "pending"})[0]["id"]
    local = setup.write("result.txt", "data")
    outputs = setup.outputs(_copy(local, "result.txt"))
    [result] = register_outputs(setup.client, outputs, setup.definition, reuse_default_resource=True)
    assert result["id"] == placeholder and result["action"] == "updated"
    [row] = _resources_of_workunit_1(setup)
    assert (row["name"], row["status"]) == ("result.txt", "available")


def test_set_workunit_status(setup) -> None:
    set_workunit_status(setup.client, 1, "processing")
    assert next(w for w in setup.server.rows("workunit") if w["id"] == 1)["status"] == "processing"
    set_workunit_status(setup.client, 1, "available")
    assert setup.client.read("workunit", {"id": 1})[0]["status"].lower() == "available"  # B-Fabric shows it upper case
    with pytest.raises(ValueError, match="unknown workunit status"):
        set_workunit_status(setup.client, 1, "done")


def test_registration_logs_hold_no_password(setup, caplog: pytest.LogCaptureFixture) -> None:
    suds_logger = logging.getLogger("suds")
    previous = suds_logger.level
    suds_logger.setLevel(logging.NOTSET)  # as in a fresh process
    caplog.set_level(logging.DEBUG)
    local = setup.write("result.txt", "data")
    outputs = setup.outputs(
        _copy(local, "result.txt"),
        {"type": "bfabric_link", "name": "Report", "url": "https://example.org/r"},
    )
    try:
        register_outputs(setup.client, outputs, setup.definition)
    finally:
        suds_logger.setLevel(previous)
    assert "registered" in caplog.text
    assert DEFAULT_PASSWORD not in caplog.text
