"""Fast direct tests of ``register_resource`` (for mutation testing): one stand-in for the module, a
fresh workunit per test, a local (``file``) storage in ``tmp_path``; no Prefect server, no ssh.

The fixtures are defined here, so the file also runs with ``--noconftest`` (registering imports
Prefect for its logger anyway, so bench/mutate.py keeps the conftests)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from specs.bfabric.outputs import CopyResourceSpec
from specs.bfabric.workunit import WorkunitRegistrationDefinition
from standin.server import StandinServer
from tasks.bfabric.register.common import RegistrationError
from tasks.bfabric.register.resource import (
    _same_resource,
    check_copy_resource,
    register_resource,
    resource_location,
)
from tests.support.standin import SaveRecorder, ref_id, running_standin


@pytest.fixture(scope="module")
def server() -> Iterator[StandinServer]:
    with running_standin() as running:
        yield running


@pytest.fixture
def client(server: StandinServer) -> SaveRecorder:
    return SaveRecorder(server.client())


@pytest.fixture
def workunit(client: SaveRecorder) -> int:
    """A fresh workunit: nothing of another test's resources is in it."""
    return int(client.save("workunit", {"name": "mutation", "applicationid": 1, "containerid": 1})[0]["id"])


@pytest.fixture
def storage(tmp_path: Path) -> dict[str, Any]:
    return {"name": "local", "protocol": "file", "basepath": f"{tmp_path / 'storage'}/"}


def _registration(workunit: int, folder: str = "out/folder", storage_id: int = 1) -> WorkunitRegistrationDefinition:
    return WorkunitRegistrationDefinition.model_validate({
        "application_id": 1, "application_name": "demo", "workunit_id": workunit, "workunit_name": "w",
        "container_id": 1, "container_type": "project", "storage_id": storage_id,
        "storage_output_folder": folder, "user_id": 1,
    })


def _spec(local: Path, entry: str = "r.txt", **extra: Any) -> CopyResourceSpec:
    return CopyResourceSpec.model_validate(
        {"type": "bfabric_copy_resource", "local_path": str(local), "store_entry_path": entry, **extra})


def _file(tmp_path: Path, text: str, name: str = "r.txt") -> Path:
    path = tmp_path / "work" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _rows(server: StandinServer, workunit: int) -> list[dict]:
    return [r for r in server.rows("resource") if ref_id(r.get("workunit")) == workunit]


# --- where the file goes ---------------------------------------------------------------------------

def test_the_workunit_folder_is_used_without_a_store_folder(tmp_path: Path) -> None:
    name, relative = resource_location(_spec(tmp_path / "x", "sub/r.txt"), _registration(1, "wu/out"))
    assert (name, relative) == ("r.txt", "wu/out/sub/r.txt")


def test_a_store_folder_replaces_the_workunit_folder(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "x", "r.txt", store_folder_path="custom/place")
    assert resource_location(spec, _registration(1, "wu/out")) == ("r.txt", "custom/place/r.txt")


@pytest.mark.parametrize("folder", ["../escape", "/abs/out"])
def test_a_workunit_folder_outside_the_storage_is_refused(tmp_path: Path, folder: str) -> None:
    with pytest.raises(RegistrationError) as refused:
        resource_location(_spec(tmp_path / "x", "r.txt"), _registration(1, folder))
    assert str(refused.value).startswith(f"output r.txt: storage path '{folder}/r.txt': ")


def test_tus_is_refused_and_scp_is_the_default(tmp_path: Path) -> None:
    local = _file(tmp_path, "x")
    with pytest.raises(NotImplementedError, match="tus"):
        check_copy_resource(_spec(local, protocol="tus"))
    check_copy_resource(_spec(local, protocol="scp"))
    check_copy_resource(SimpleNamespace(local_path=str(local)))  # no protocol attribute: scp


def test_a_missing_or_non_file_output_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RegistrationError, match=r"missing\.txt does not exist"):
        check_copy_resource(_spec(tmp_path / "missing.txt"))
    with pytest.raises(RegistrationError, match="does not exist"):
        check_copy_resource(_spec(tmp_path))  # a folder is not an output file


# --- create, unchanged, updated ----------------------------------------------------------------------

def test_a_new_resource_is_copied_and_created(server, client, workunit, storage, tmp_path: Path) -> None:
    local = _file(tmp_path, "line 1\nline 2\n")

    result = register_resource(client, _spec(local, "sub/r.txt"), _registration(workunit), storage)

    [row] = _rows(server, workunit)
    assert result == {"entity_type": "resource", "id": row["id"], "name": "r.txt", "action": "created"}
    assert (row["name"], row["relativepath"], row["status"]) == ("r.txt", "out/folder/sub/r.txt", "available")
    assert ref_id(row["storage"]) == 1  # the seed's storage
    assert row["filechecksum"] == hashlib.md5(b"line 1\nline 2\n").hexdigest()
    assert int(row["size"]) == 14
    assert (tmp_path / "storage/out/folder/sub/r.txt").read_text() == "line 1\nline 2\n"
    [saved] = client.saved("resource")
    assert "id" not in saved and saved["workunitid"] == workunit and saved["storageid"] == 1


def test_registering_the_same_file_again_saves_nothing(server, client, workunit, storage, tmp_path: Path) -> None:
    local = _file(tmp_path, "same\n")
    first = register_resource(client, _spec(local), _registration(workunit), storage)

    again = register_resource(client, _spec(local), _registration(workunit), storage)

    assert again == {**first, "action": "unchanged"}
    assert len(client.saved("resource")) == 1 and len(_rows(server, workunit)) == 1


def test_a_changed_file_updates_the_same_resource(server, client, workunit, storage, tmp_path: Path) -> None:
    local = _file(tmp_path, "v1\n")
    first = register_resource(client, _spec(local), _registration(workunit), storage)
    local.write_text("v2\n")  # same size: only the checksum tells

    again = register_resource(client, _spec(local), _registration(workunit), storage)

    assert again == {**first, "action": "updated"}
    [row] = _rows(server, workunit)
    assert row["filechecksum"] == hashlib.md5(b"v2\n").hexdigest()
    assert client.saved("resource")[-1]["id"] == first["id"]
    assert (tmp_path / "storage/out/folder/r.txt").read_text() == "v2\n"


def test_a_resource_of_the_same_name_in_another_workunit_is_left_alone(
        server, client, workunit, storage, tmp_path: Path) -> None:
    other = int(client.save("workunit", {"name": "other", "applicationid": 1, "containerid": 1})[0]["id"])
    local = _file(tmp_path, "theirs\n")
    theirs = register_resource(client, _spec(local), _registration(other), storage)
    before = _rows(server, other)

    mine = register_resource(client, _spec(local), _registration(workunit), storage)

    assert mine["action"] == "created" and mine["id"] != theirs["id"]
    assert _rows(server, other) == before


def test_another_name_in_the_same_workunit_is_another_resource(
        server, client, workunit, storage, tmp_path: Path) -> None:
    first = register_resource(client, _spec(_file(tmp_path, "a", "a.txt"), "a.txt"), _registration(workunit), storage)
    second = register_resource(client, _spec(_file(tmp_path, "a", "b.txt"), "b.txt"), _registration(workunit), storage)
    assert second["action"] == "created" and second["id"] != first["id"]
    assert sorted(r["name"] for r in _rows(server, workunit)) == ["a.txt", "b.txt"]


def test_policies_no_and_required(server, client, workunit, storage, tmp_path: Path) -> None:
    local = _file(tmp_path, "v1")
    with pytest.raises(RegistrationError, match="does not exist and update_existing is 'required'"):
        register_resource(client, _spec(local, update_existing="required"), _registration(workunit), storage)
    assert _rows(server, workunit) == [] and not (tmp_path / "storage").exists()
    first = register_resource(client, _spec(local), _registration(workunit), storage)
    local.write_text("v2")
    with pytest.raises(RegistrationError, match=rf"already exists \(id {first['id']}\) and update_existing is 'no'"):
        register_resource(client, _spec(local, update_existing="no"), _registration(workunit), storage)
    assert (tmp_path / "storage/out/folder/r.txt").read_text() == "v1"  # nothing copied either
    assert register_resource(client, _spec(local, update_existing="required"), _registration(workunit),
                             storage)["action"] == "updated"


# --- the legacy pending placeholder --------------------------------------------------------------------

def _pending(client: SaveRecorder, workunit: int, name: str, status: str = "pending") -> int:
    return int(client.save("resource", {"name": name, "workunitid": workunit, "status": status})[0]["id"])


def test_the_single_pending_placeholder_is_filled_in_when_asked(
        server, client, workunit, storage, tmp_path: Path) -> None:
    for log in ("slurm_stdout", "slurm_stderr"):
        _pending(client, workunit, log)
    placeholder = _pending(client, workunit, "WU output")

    result = register_resource(client, _spec(_file(tmp_path, "data")), _registration(workunit), storage,
                               reuse_placeholder=True)

    assert (result["id"], result["action"]) == (placeholder, "updated")
    row = next(r for r in _rows(server, workunit) if r["id"] == placeholder)
    assert (row["name"], row["status"]) == ("r.txt", "available")
    assert len(_rows(server, workunit)) == 3


@pytest.mark.parametrize("others", [[], [("WU output", "available")], [("WU output", "processing")],
                                    [("a", "pending"), ("b", "pending")]])
def test_no_placeholder_unless_exactly_one_pending(server, client, workunit, storage, tmp_path: Path,
                                                   others: list[tuple[str, str]]) -> None:
    ids = [_pending(client, workunit, name, status) for name, status in others]
    result = register_resource(client, _spec(_file(tmp_path, "data")), _registration(workunit), storage,
                               reuse_placeholder=True)
    assert result["action"] == "created" and result["id"] not in ids


def test_the_placeholder_is_left_alone_unless_asked(server, client, workunit, storage, tmp_path: Path) -> None:
    placeholder = _pending(client, workunit, "WU output")
    result = register_resource(client, _spec(_file(tmp_path, "data")), _registration(workunit), storage)
    assert result["action"] == "created" and result["id"] != placeholder


def test_an_existing_resource_wins_over_the_placeholder(server, client, workunit, storage, tmp_path: Path) -> None:
    local = _file(tmp_path, "v1")
    first = register_resource(client, _spec(local), _registration(workunit), storage)
    for name in ("a", "b"):
        _pending(client, workunit, name)  # not the single pending one: the named resource counts
    local.write_text("v22")
    again = register_resource(client, _spec(local), _registration(workunit), storage, reuse_placeholder=True)
    assert (again["id"], again["action"]) == (first["id"], "updated")


# --- what counts as the same resource ------------------------------------------------------------------

_WANTED = {"name": "r.txt", "workunitid": 3, "storageid": 7, "relativepath": "out/r.txt",
           "filechecksum": "0123456789abcdef0123456789abcdef", "status": "available", "size": 14}


def _stored(**changes: Any) -> dict[str, Any]:
    stored = {"id": 1, "name": "r.txt", "workunit": {"classname": "workunit", "id": 3},
              "storage": {"classname": "storage", "id": "7"}, "relativepath": "out/r.txt",
              "filechecksum": "0123456789ABCDEF0123456789ABCDEF", "status": "available", "size": "14"}
    return {**stored, **changes}


def test_the_stored_resource_as_bfabric_spells_it_is_the_same() -> None:
    assert _same_resource(_stored(), _WANTED)  # upper-case checksum, size and ids as strings
    assert _same_resource(_stored(size=14), _WANTED)


@pytest.mark.parametrize("change", [  # each field both below and above what is wanted
    {"name": "s.txt"}, {"name": "a.txt"}, {"workunit": {"classname": "workunit", "id": 4}},
    {"workunit": {"classname": "workunit", "id": 2}}, {"workunit": None}, {"workunit": {"classname": "workunit"}},
    {"workunit": 3}, {"storage": {"id": 8}}, {"storage": {"id": 6}}, {"storage": None},
    {"relativepath": "out/s.txt"}, {"relativepath": "out/a.txt"}, {"filechecksum": "f" * 32},
    {"filechecksum": "0" * 32}, {"filechecksum": None}, {"status": "pending"}, {"status": "archived"},
    {"size": "15"}, {"size": "13"}, {"size": None},
])
def test_any_difference_makes_another_resource(change: dict[str, Any]) -> None:
    assert not _same_resource(_stored(**change), _WANTED)


def test_the_options_are_keyword_only(client, workunit, storage, tmp_path: Path) -> None:
    """A positional ``True`` could not be told from an ssh user: the options must be named."""
    with pytest.raises(TypeError):
        register_resource(client, _spec(_file(tmp_path, "x")), _registration(workunit), storage, None, True)
    assert not (tmp_path / "storage").exists()


def test_large_ids_are_compared_by_value() -> None:
    """Real workunit and storage ids run into the hundreds of thousands (not Python's cached small ints)."""
    wanted = {**_WANTED, "workunitid": int("300123"), "storageid": int("1001")}
    stored = _stored(workunit={"classname": "workunit", "id": "300123"}, storage={"classname": "storage", "id": 1001})
    assert _same_resource(stored, wanted)
