"""The stand-in answers the real bfabric client: CRUD round trips, references, queries, pagination, auth."""

from __future__ import annotations

import urllib.request

import pytest
from bfabric import Bfabric
from bfabric.config import BfabricAuth, BfabricClientConfig
from bfabric.config.config_data import ConfigData
from bfabric.entities import Application, Project, Resource, Storage, Workunit
from bfabric.errors import BfabricRequestError

from standin.server import StandinServer
from tests.support.standin import ref_id, running_standin


def test_save_read_delete_round_trip(standin_server: StandinServer, standin_client: Bfabric) -> None:
    saved = standin_client.save("sample", {"name": "round-trip", "containerid": 1, "type": "Biological Sample"})
    sample_id = saved[0]["id"]
    assert isinstance(sample_id, int) and sample_id == 5  # the seed holds samples 1-4

    found = standin_client.read("sample", {"name": "round-trip"}).to_list_dict()
    assert [(s["id"], s["type"], s["container"]) for s in found] == [
        (sample_id, "Biological Sample", {"classname": "project", "id": 1})
    ]

    standin_client.save("sample", {"id": sample_id, "type": "Control"})
    updated = standin_client.read("sample", {"id": sample_id})[0]
    assert (updated["name"], updated["type"]) == ("round-trip", "Control")  # fields not sent are kept

    deleted = standin_client.delete("sample", sample_id)
    assert deleted.to_list_dict() == [{"id": sample_id, "deletionreport": f"Sample {sample_id} removed successfully."}]
    assert standin_client.read("sample", {"name": "round-trip"}).to_list_dict() == []
    assert sample_id not in [row["id"] for row in standin_server.rows("sample")]


def test_ids_are_not_reused_after_delete(standin_client: Bfabric) -> None:
    link = {"url": "https://a", "parentid": 1, "parentclassname": "Workunit"}
    first = standin_client.save("link", {**link, "name": "a"})
    standin_client.delete("link", first[0]["id"])
    second = standin_client.save("link", {**link, "name": "b"})
    assert second[0]["id"] == first[0]["id"] + 1


def test_delete_of_missing_id_is_an_error(standin_client: Bfabric) -> None:
    with pytest.raises(BfabricRequestError, match="does not exist"):
        standin_client.delete("sample", 999)


def test_update_of_missing_id_is_an_error(standin_client: Bfabric) -> None:
    with pytest.raises(BfabricRequestError, match="Sample with id 999 does not exist"):
        standin_client.save("sample", {"id": 999, "name": "ghost"})


def test_references_resolve_as_entities(standin_client: Bfabric) -> None:
    workunit = standin_client.reader.read_id("workunit", 1)
    assert isinstance(workunit, Workunit)
    assert isinstance(workunit.application, Application) and workunit.application["name"] == "labflows_demo"
    assert isinstance(workunit.container, Project) and workunit.container.id == 1
    assert workunit.input_resources.ids == [1, 2, 3, 4]
    assert workunit.application_parameters == {"application_version": "1.0.0", "greeting": "hello"}
    assert workunit.submitter_parameters == {"partition": "standard"}
    assert workunit.created_by["login"] == "standin"

    resource = workunit.input_resources[0]
    assert isinstance(resource, Resource) and isinstance(resource.storage, Storage)
    assert resource.storage_absolute_path.read_text().startswith("gene\tcount")
    assert resource.sample["name"] == "sample_1"
    assert resource.workunit.id == 3


def test_back_references_list_saved_children(standin_client: Bfabric) -> None:
    saved = standin_client.save("resource", {"name": "new.txt", "workunitid": 1, "storageid": 3})
    workunit = standin_client.reader.read_id("workunit", 1)
    assert workunit.resources.ids == [saved[0]["id"]]
    assert sorted(workunit.parameters.ids) == [1, 2, 3]


def test_query_combines_fields_with_and_and_list_values_with_or(standin_client: Bfabric) -> None:
    found = standin_client.read(
        "resource", {"storageid": 2, "name": ["sample_1.tsv", "sample_3.tsv", "nope.tsv"], "id": [1, 2, 3]}
    )
    assert sorted(r["id"] for r in found) == [1, 3]
    assert standin_client.read("resource", {"storageid": 3}).to_list_dict() == []
    assert standin_client.exists("resource", "name", "sample_2.tsv")
    assert not standin_client.exists("resource", "name", "sample_9.tsv")


def test_query_one_and_read_ids(standin_client: Bfabric) -> None:
    one = standin_client.reader.query_one("resource", {"name": "sample_2.tsv", "workunitid": 3})
    assert one is not None and one.id == 2 and one["filechecksum"] == "c3968c34656fa3a8373d7fc363144424"
    assert standin_client.reader.query_one("resource", {"name": "sample_2.tsv", "workunitid": 1}) is None
    found = standin_client.reader.read_ids("resource", [1, 4, 77])
    assert sorted(found.by_id) == [1, 4]


def test_id_only_reads(standin_client: Bfabric) -> None:
    found = standin_client.read("resource", {"storageid": 2}, return_id_only=True).to_list_dict()
    assert found == [{"id": i, "classname": "resource"} for i in (1, 2, 3, 4)]


def test_pagination_over_more_than_one_page(standin_client: Bfabric) -> None:
    standin_client.save("sample", [{"name": f"bulk-{i:03d}", "containerid": 1, "type": "bulk"} for i in range(250)])
    every = standin_client.read("sample", {"type": "bulk"}, max_results=None)
    assert every.total_pages_api == 3
    assert [s["name"] for s in every] == [f"bulk-{i:03d}" for i in range(250)]
    window = standin_client.read("sample", {"type": "bulk"}, max_results=30, offset=190)
    assert [s["name"] for s in window] == [f"bulk-{i:03d}" for i in range(190, 220)]
    assert len(standin_client.read("sample", {"type": "bulk"})) == 100  # the client's default limit


def test_dataset_nested_lists_round_trip(standin_client: Bfabric) -> None:
    dataset = standin_client.reader.read_id("dataset", 1)
    table = dataset.to_polars()
    assert table.columns == ["Resource", "Name", "Condition"]
    assert table.row(3) == ("4", "sample_4", "condition_2")
    assert dataset.column_types["Resource"] == "Resource"


def test_wrong_password_is_refused(standin_server: StandinServer) -> None:
    wrong = Bfabric(
        ConfigData(
            client=BfabricClientConfig(base_url=standin_server.base_url),
            auth=BfabricAuth(login=standin_server.login, password="x" * 32),
        )
    )
    with pytest.raises(BfabricRequestError, match="Invalid login or password"):
        wrong.read("workunit", {"id": 1})
    with pytest.raises(BfabricRequestError, match="Invalid login or password"):
        wrong.save("sample", {"name": "intruder", "containerid": 1})
    with pytest.raises(BfabricRequestError, match="Invalid login or password"):
        wrong.delete("sample", 1)
    assert [s["name"] for s in standin_server.rows("sample")] == ["sample_1", "sample_2", "sample_3", "sample_4"]


def test_resource_names_are_unique_per_workunit(standin_client: Bfabric) -> None:
    standin_client.save("resource", {"name": "out.txt", "workunitid": 1})
    with pytest.raises(BfabricRequestError, match="already exists in workunit 1"):
        standin_client.save("resource", {"name": "out.txt", "workunitid": 1})
    standin_client.save("resource", {"name": "out.txt", "workunitid": 2})  # another workunit is fine


def test_data_survives_a_restart(tmp_path) -> None:
    db = tmp_path / "standin.sqlite"
    with running_standin(None, db_path=db) as server:
        saved = server.client().save("project", {"name": "kept"})
        project_id = saved[0]["id"]
    with running_standin(None, db_path=db) as server:
        client = server.client()
        assert client.read("project", {"id": project_id})[0]["name"] == "kept"
        assert client.save("project", {"name": "next"})[0]["id"] == project_id + 1


def test_wsdl_address_is_the_localhost_base_url(standin_server: StandinServer) -> None:
    assert standin_server.base_url == f"http://localhost:{standin_server.port}/bfabric"
    with urllib.request.urlopen(f"http://127.0.0.1:{standin_server.port}/bfabric/workunit?wsdl") as answer:
        wsdl = answer.read().decode()
    assert f'location="{standin_server.base_url}/workunit"' in wsdl
    assert 'name="id" type="xs:long"' in wsdl and 'xmlns:xs="http://www.w3.org/2001/XMLSchema"' in wsdl


def test_server_listens_on_loopback_only(standin_server: StandinServer) -> None:
    assert standin_server._httpd.server_address[0] == "127.0.0.1"


def test_unknown_endpoint_is_not_found(standin_server: StandinServer, standin_client: Bfabric) -> None:
    with pytest.raises(BfabricRequestError, match="Non-existent endpoint"):
        standin_client.read("nosuchthing", {})
    with pytest.raises(KeyError):
        standin_server.rows("nosuchthing")


def test_rows_show_references_as_stored(standin_server: StandinServer) -> None:
    workunit = next(r for r in standin_server.rows("workunit") if r["id"] == 1)
    assert ref_id(workunit["application"]) == 1
    assert [ref_id(r) for r in workunit["inputresource"]] == [1, 2, 3, 4]


def test_malformed_values_are_answered_with_an_error(standin_server: StandinServer, standin_client: Bfabric) -> None:
    with pytest.raises(BfabricRequestError, match="Malformed resource"):
        standin_client.save("resource", {"name": "odd", "workunitid": 1, "size": "twelve"})
    assert "odd" not in [r["name"] for r in standin_server.rows("resource")]


def test_seeded_undeclared_fields_are_declared_and_read_back() -> None:
    seed = {"project": [{"id": 1, "name": "p"}],
            "sample": [{"id": 1, "name": "s", "tissue": "liver", "tags": ["a", "b"], "weight": 3}]}
    with running_standin(seed) as server:
        client = server.client()
        [sample] = client.read("sample", {"id": 1}).to_list_dict()
        assert (sample["tissue"], sample["tags"], sample["weight"]) == ("liver", ["a", "b"], "3")
        assert client.read("sample", {"tissue": "liver"})[0]["id"] == 1
        client.save("sample", {"name": "t", "containerid": 1, "tissue": "skin"})  # declared by seeding: accepted
        assert client.read("sample", {"name": "t"})[0]["tissue"] == "skin"
