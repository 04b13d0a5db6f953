"""Which resource a registration updates: the one of the same name *in the same workunit*, and only
when something about it changed (the file's checksum included, compared as B-Fabric may spell it)."""

from __future__ import annotations

import hashlib

from tests.support.standin import ref_id
from tasks.bfabric.register.outputs import register_outputs


def _copy(local, entry: str) -> dict:
    return {"type": "bfabric_copy_resource", "local_path": str(local), "store_entry_path": entry}


def _row(setup, resource_id: int) -> dict:
    return next(r for r in setup.server.rows("resource") if r["id"] == resource_id)


def test_a_resource_of_the_same_name_in_another_workunit_is_left_alone(setup) -> None:
    other_id = setup.client.save("resource", {
        "name": "result.txt", "workunitid": 2, "storageid": setup.storage_id,
        "relativepath": "other/result.txt", "filechecksum": "0" * 32, "size": 3, "status": "available",
    })[0]["id"]
    before = dict(_row(setup, other_id))
    local = setup.write("result.txt", "mine\n")

    [result] = register_outputs(setup.client, setup.outputs(_copy(local, "result.txt")), setup.definition)

    assert result["action"] == "created" and result["id"] != other_id
    assert _row(setup, other_id) == before  # workunit 2's resource: not moved, not overwritten
    mine = _row(setup, result["id"])
    assert (ref_id(mine["workunit"]), mine["relativepath"]) == (1, "out/folder/result.txt")
    assert mine["filechecksum"] == hashlib.md5(b"mine\n").hexdigest()
    assert all("id" not in saved for saved in setup.client.saved("resource")[1:])


def test_a_changed_file_of_the_same_size_is_registered_again(setup) -> None:
    local = setup.write("r.txt", "v1\n")
    outputs = setup.outputs(_copy(local, "r.txt"))
    [first] = register_outputs(setup.client, outputs, setup.definition)

    local.write_text("v2\n")  # same size, other content: only the checksum tells
    [second] = register_outputs(setup.client, outputs, setup.definition)

    assert (second["id"], second["action"]) == (first["id"], "updated")
    row = _row(setup, first["id"])
    assert row["filechecksum"] == hashlib.md5(b"v2\n").hexdigest() and int(row["size"]) == 3
    assert (setup.remote / "out/folder/r.txt").read_text() == "v2\n"


def test_an_upper_case_checksum_in_bfabric_matches_the_same_file(setup) -> None:
    local = setup.write("r.txt", "same\n")
    outputs = setup.outputs(_copy(local, "r.txt"))
    [first] = register_outputs(setup.client, outputs, setup.definition)
    upper = hashlib.md5(b"same\n").hexdigest().upper()
    setup.client.save("resource", {"id": first["id"], "filechecksum": upper})  # as B-Fabric may store it
    saves = len(setup.client.saved("resource"))

    [again] = register_outputs(setup.client, outputs, setup.definition)

    assert (again["id"], again["action"]) == (first["id"], "unchanged")
    assert len(setup.client.saved("resource")) == saves  # nothing saved
    assert _row(setup, first["id"])["filechecksum"] == upper
