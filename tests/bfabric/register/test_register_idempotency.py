"""Registering twice, or again after a failure half-way, creates no duplicate resource, dataset or link."""

from __future__ import annotations

import pytest

from tasks.bfabric.register.outputs import RegistrationError, register_outputs
from tests.support.standin import row_counts

ENDPOINTS = ("resource", "dataset", "link")


def _full_outputs(setup):
    first = setup.write("a.txt", "first file\n")
    second = setup.write("b.txt", "second file\n")
    table = setup.write("summary.csv", "file,lines\na.txt,1\nb.txt,1\n")
    return setup.outputs(
        {"type": "bfabric_copy_resource", "local_path": str(first), "store_entry_path": "a.txt"},
        {"type": "bfabric_copy_resource", "local_path": str(second), "store_entry_path": "b.txt"},
        {"type": "bfabric_dataset", "local_path": str(table)},
        {"type": "bfabric_link", "name": "Summary", "url": "https://example.org/summary"},
    )


def test_registering_twice_changes_nothing(setup) -> None:
    outputs = _full_outputs(setup)
    before = row_counts(setup.server, *ENDPOINTS)
    first = register_outputs(setup.client, outputs, setup.definition)
    after_first = row_counts(setup.server, *ENDPOINTS)
    assert after_first == {"resource": before["resource"] + 2, "dataset": before["dataset"] + 1, "link": 1}
    assert [r["action"] for r in first] == ["created"] * 4

    second = register_outputs(setup.client, outputs, setup.definition)
    assert [(r["entity_type"], r["id"]) for r in second] == [(r["entity_type"], r["id"]) for r in first]
    assert [r["action"] for r in second] == ["unchanged"] * 4
    assert row_counts(setup.server, *ENDPOINTS) == after_first


def test_retry_after_a_failure_half_way(setup, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = _full_outputs(setup)
    before = row_counts(setup.server, *ENDPOINTS)
    monkeypatch.setenv("FAKE_SCP_FAIL_ON", "b.txt")
    with pytest.raises(RegistrationError, match="simulated failure"):
        register_outputs(setup.client, outputs, setup.definition)
    half = row_counts(setup.server, *ENDPOINTS)
    assert half == {**before, "resource": before["resource"] + 1}  # a.txt only

    monkeypatch.delenv("FAKE_SCP_FAIL_ON")
    retried = register_outputs(setup.client, outputs, setup.definition)
    assert [r["action"] for r in retried] == ["unchanged", "created", "created", "created"]
    assert row_counts(setup.server, *ENDPOINTS) == {
        "resource": before["resource"] + 2, "dataset": before["dataset"] + 1, "link": 1,
    }
    names = [r["name"] for r in setup.server.rows("resource") if r["name"] in ("a.txt", "b.txt")]
    assert sorted(names) == ["a.txt", "b.txt"]
    assert (setup.remote / "out" / "folder" / "b.txt").read_text() == "second file\n"


def test_retry_after_the_copy_succeeded_but_the_save_did_not(setup) -> None:
    """A file already on the storage from an interrupted run is copied again and registered once."""
    outputs = _full_outputs(setup)
    (setup.remote / "out" / "folder").mkdir(parents=True)
    (setup.remote / "out" / "folder" / "a.txt").write_text("stale copy\n")
    register_outputs(setup.client, outputs, setup.definition)
    assert (setup.remote / "out" / "folder" / "a.txt").read_text() == "first file\n"
    assert [r["name"] for r in setup.server.rows("resource")].count("a.txt") == 1
