"""bfabric_dataset outputs: create, leave unchanged, update, and the update_existing policies (behaviour 14)."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.bfabric.register.outputs import RegistrationError, register_outputs
from tests.support.standin import ref_id


def _datasets_of_workunit_1(setup) -> list[dict]:
    return [d for d in setup.server.rows("dataset") if ref_id(d.get("workunit")) == 1]


def _entry(path, **extra) -> dict:
    return {"type": "bfabric_dataset", "local_path": str(path), **extra}


def test_dataset_is_created_then_unchanged_then_updated(setup) -> None:
    table = setup.write("stats.csv", "Resource,Name,Value\n1,sample_1,007\n2,sample_2,3.50\n")
    outputs = setup.outputs(_entry(table))

    [created] = register_outputs(setup.client, outputs, setup.definition)
    [row] = _datasets_of_workunit_1(setup)
    assert created == {"entity_type": "dataset", "id": row["id"], "name": "stats", "action": "created"}
    assert ref_id(row["container"]) == 1
    assert [(a["position"], a["name"], a["type"]) for a in row["attribute"]] == [
        (1, "Resource", "Resource"), (2, "Name", "String"), (3, "Value", "String"),
    ]
    dataset = setup.client.reader.read_id("dataset", row["id"])
    assert dataset.to_polars().rows() == [("1", "sample_1", "007"), ("2", "sample_2", "3.50")]  # cells kept as text

    saves_before = len(setup.client.saves)
    [same] = register_outputs(setup.client, outputs, setup.definition)
    assert same["action"] == "unchanged" and same["id"] == row["id"]
    assert len(setup.client.saves) == saves_before  # no save call at all

    table.write_text("Resource,Name,Value\n1,sample_1,007\n2,sample_2,4\n3,sample_3,\n")
    [updated] = register_outputs(setup.client, outputs, setup.definition)
    assert updated["action"] == "updated" and updated["id"] == row["id"]
    assert setup.client.saved("dataset")[-1]["id"] == row["id"]
    [row_after] = _datasets_of_workunit_1(setup)
    assert len(row_after["item"]) == 3
    assert setup.client.reader.read_id("dataset", row["id"]).to_polars().row(2) == ("3", "sample_3", "")


def test_no_policy_with_existing_dataset_raises(setup) -> None:
    table = setup.write("t.csv", "a\n1\n")
    register_outputs(setup.client, setup.outputs(_entry(table)), setup.definition)
    with pytest.raises(RegistrationError, match="already exists .* update_existing is 'no'"):
        register_outputs(setup.client, setup.outputs(_entry(table, update_existing="no")), setup.definition)
    assert len(_datasets_of_workunit_1(setup)) == 1


def test_required_policy_without_dataset_raises(setup) -> None:
    table = setup.write("t.csv", "a\n1\n")
    with pytest.raises(RegistrationError, match="does not exist and update_existing is 'required'"):
        register_outputs(setup.client, setup.outputs(_entry(table, update_existing="required")), setup.definition)
    assert _datasets_of_workunit_1(setup) == []
    register_outputs(setup.client, setup.outputs(_entry(table)), setup.definition)
    required = setup.outputs(_entry(table, update_existing="required"))
    [result] = register_outputs(setup.client, required, setup.definition)
    assert result["action"] == "unchanged"


def test_tsv_without_header_and_custom_name(setup) -> None:
    table = setup.write("plain.tsv", "x\t1\ny\t2\n")
    outputs = setup.outputs(_entry(table, separator="\t", has_header=False, name="My table"))
    [result] = register_outputs(setup.client, outputs, setup.definition)
    assert result["name"] == "My table"
    dataset = setup.client.reader.read_id("dataset", result["id"])
    assert dataset["name"] == "My table"
    assert dataset.to_polars().rows() == [("x", "1"), ("y", "2")]


def test_parquet_table(setup) -> None:
    path = setup.work / "values.parquet"
    pl.DataFrame({"Sample": ["a", "b"], "Count": [3, 4]}).write_parquet(path)
    [result] = register_outputs(setup.client, setup.outputs(_entry(path, format="parquet")), setup.definition)
    dataset = setup.client.reader.read_id("dataset", result["id"])
    assert dataset.column_types == {"Sample": "String", "Count": "Integer"}
    assert dataset.to_polars().rows() == [("a", "3"), ("b", "4")]


def test_invalid_characters_are_refused(setup) -> None:
    table = setup.write("bad.csv", "name\nok\nnot;ok\n")
    with pytest.raises(RegistrationError, match="invalid characters"):
        register_outputs(setup.client, setup.outputs(_entry(table, invalid_characters=";,")), setup.definition)
    assert _datasets_of_workunit_1(setup) == []


def test_renamed_output_updates_the_workunits_dataset(setup) -> None:
    """A workunit has one output dataset, found by workunit (as bfabric-app-runner does), not by name:
    renaming the output updates the first dataset (content; its name is kept) instead of adding one."""
    table = setup.write("stats.csv", "a\n1\n")
    [created] = register_outputs(setup.client, setup.outputs(_entry(table)), setup.definition)
    setup.write("stats.csv", "a\n2\n")
    [updated] = register_outputs(setup.client, setup.outputs(_entry(table, name="renamed")), setup.definition)
    assert (updated["id"], updated["action"]) == (created["id"], "updated")
    [row] = _datasets_of_workunit_1(setup)
    assert row["name"] == "stats"
    assert [f["value"] for item in row["item"] for f in item["field"]] == ["2"]
    assert "name" not in setup.client.saved("dataset")[-1]


def test_a_second_dataset_output_updates_the_first(setup) -> None:
    """Two dataset outputs of one workunit: the second updates the workunit's dataset (upstream's rule)."""
    first = setup.write("first.csv", "a\n1\n")
    second = setup.write("second.csv", "b\n2\n")
    results = register_outputs(setup.client, setup.outputs(_entry(first), _entry(second)), setup.definition)
    assert [r["action"] for r in results] == ["created", "updated"]
    assert results[0]["id"] == results[1]["id"]
    [row] = _datasets_of_workunit_1(setup)
    assert [a["name"] for a in row["attribute"]] == ["b"]


def test_column_types_as_upstream_cells_as_written(setup) -> None:
    """Types come from polars' inference over the whole file, as bfabric-app-runner's: whole numbers are
    Integer (leading zeros too), a Resource column of ids is Resource; the cells keep their text."""
    table = setup.write("typed.csv", "Resource,Count,Ratio,Label\n1,007,0.5,a\n2,12,1.50,b\n")
    register_outputs(setup.client, setup.outputs(_entry(table)), setup.definition)
    [row] = _datasets_of_workunit_1(setup)
    assert [a["type"] for a in row["attribute"]] == ["Resource", "Integer", "String", "String"]
    assert [[f["value"] for f in item["field"]] for item in row["item"]] == [
        ["1", "007", "0.5", "a"], ["2", "12", "1.50", "b"]]
