"""The stand-in answers queries and saves the way B-Fabric does, measured with the real ``bfabric`` client.

Each test covers one point of issue 12's "the stand-in behaves like B-Fabric"; the ``bfabric-cli``
ones run the installed bfabric-scripts commands in a subprocess against the stand-in.
"""

from __future__ import annotations

import datetime
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from bfabric import Bfabric
from bfabric.errors import BfabricRequestError
from suds import TypeNotFound

from standin.server import DEFAULT_PASSWORD, StandinServer
from tests.support.standin import ref_id, row_counts, running_standin


def _ids(client: Bfabric, endpoint: str, query: dict) -> list[int]:
    return sorted(r["id"] for r in client.read(endpoint, query))


def _raw_errorreport(server: StandinServer, endpoint: str, operation: str, inner_xml: str) -> str:
    """The ``errorreport`` of a hand-written request (what a client without the WSDL's types could send)."""
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:bf="http://endpoint.server.webservice.bfabric.org/"><soap:Body>'
        f"<bf:{operation}><parameters><login>{server.login}</login><password>{DEFAULT_PASSWORD}</password>"
        f"{inner_xml}</parameters></bf:{operation}></soap:Body></soap:Envelope>"
    )
    request = urllib.request.Request(f"{server.base_url}/{endpoint}", data=envelope.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        found = ET.fromstring(answer.read()).find(".//errorreport")
    return "" if found is None else str(found.text)


# ---- queries -------------------------------------------------------------------------------------
def test_percent_is_a_wildcard_in_text_queries(standin_client: Bfabric) -> None:
    assert _ids(standin_client, "sample", {"name": "sample_%"}) == [1, 2, 3, 4]
    assert _ids(standin_client, "sample", {"name": "%_3"}) == [3]
    assert _ids(standin_client, "resource", {"name": ["%_1.tsv", "%_4%"]}) == [1, 4]
    assert _ids(standin_client, "sample", {"name": "sample_"}) == []  # without % the value is exact
    assert _ids(standin_client, "sample", {"name": "SAMPLE_%"}) == []  # names keep their case


def test_created_and_modified_filters() -> None:
    seed = {
        "project": [{"id": 1, "name": "p"}],
        "sample": [
            {"id": 1, "name": "january", "container": 1, "created": "2024-01-10T12:00:00+00:00",
             "modified": "2024-06-01T00:00:00+00:00"},
            {"id": 2, "name": "march", "container": 1, "created": "2024-03-01T08:00:00+00:00"},
        ],
    }
    with running_standin(seed) as server:
        client = server.client()
        assert _ids(client, "sample", {"createdafter": "2024-02-01"}) == [2]
        assert _ids(client, "sample", {"createdbefore": "2024-02-01T00:00:00+00:00"}) == [1]
        assert _ids(client, "sample", {"createdafter": "2024-01-01", "createdbefore": "2024-12-31"}) == [1, 2]
        assert _ids(client, "sample", {"modifiedafter": "2024-05-01"}) == [1]
        assert _ids(client, "sample", {"modifiedbefore": "2024-05-01"}) == [2]
        with pytest.raises(BfabricRequestError, match="Invalid date for createdafter"):
            client.read("sample", {"createdafter": "last tuesday"})


def test_saved_rows_carry_created_and_modified(standin_client: Bfabric) -> None:
    before = datetime.datetime.now().astimezone() - datetime.timedelta(minutes=5)
    new_id = standin_client.save("sample", {"name": "fresh", "containerid": 1})[0]["id"]
    [fresh] = standin_client.read("sample", {"id": new_id})
    assert fresh["created"] and fresh["modified"] and fresh["createdby"] == "standin"
    later = before + datetime.timedelta(days=1)
    assert _ids(standin_client, "sample", {"name": "fresh", "createdafter": before.isoformat()}) == [new_id]
    assert _ids(standin_client, "sample", {"name": "fresh", "createdafter": later.isoformat()}) == []
    assert _ids(standin_client, "sample", {"name": "fresh", "modifiedbefore": later.isoformat()}) == [new_id]


def test_unknown_query_field_is_an_error(standin_server: StandinServer, standin_client: Bfabric) -> None:
    # the WSDL declares every query field, so the client itself refuses, as against B-Fabric
    with pytest.raises(TypeNotFound, match="Type not found: 'colour'"):
        standin_client.read("sample", {"name": "sample_1", "colour": "red"})
    assert _ids(standin_client, "resource", {"workunitid": 3, "storage": 2}) == [1, 2, 3, 4]  # ref forms are known
    # and the server refuses what a client without the types sends
    report = _raw_errorreport(standin_server, "sample", "read", "<query><colour>red</colour></query>")
    assert report == "Unknown query field(s) for sample: colour."


def test_empty_id_list_never_reaches_the_server(standin_client: Bfabric) -> None:
    """``id: []`` returning every row is the client's doing: suds leaves an empty list out of the request."""
    client = standin_client._engine._cl.get("sample") or (standin_client.read("sample", {"id": 1}) and
                                                           standin_client._engine._cl["sample"])
    client.options.nosend = True
    try:
        def envelope(query: dict) -> bytes:
            params = {"login": "x", "password": "y", "page": 1, "idonly": False, "query": query}
            return client.service.read(params).envelope

        assert envelope({"id": [], "name": "a"}) == envelope({"name": "a"})
        assert envelope({"id": [1], "name": "a"}) != envelope({"name": "a"})
    finally:
        client.options.nosend = False


def test_status_and_parentclassname_ignore_case(standin_client: Bfabric) -> None:
    assert _ids(standin_client, "workunit", {"status": ["Pending", "Processing", "Failed"]}) == [1, 2]
    assert _ids(standin_client, "resource", {"status": "AVAILABLE"}) == [1, 2, 3, 4]
    link = {"name": "report", "url": "https://example.org/r", "parentid": 1}
    link_id = standin_client.save("link", {**link, "parentclassname": "workunit"})[0]["id"]
    assert _ids(standin_client, "link", {"parentclassname": "Workunit", "parentid": 1}) == [link_id]
    standin_client.save("workunit", {"id": 2, "status": "Processing"})
    assert standin_client.read("workunit", {"id": 2})[0]["status"] == "PROCESSING"


def test_workunit_status_is_shown_upper_case_and_stored_as_saved_spelling(standin_server: StandinServer,
                                                                           standin_client: Bfabric) -> None:
    standin_client.save("workunit", {"id": 1, "status": "AVAILABLE"})
    assert standin_client.read("workunit", {"id": 1})[0]["status"] == "AVAILABLE"
    assert next(w for w in standin_server.rows("workunit") if w["id"] == 1)["status"] == "available"
    assert standin_client.read("resource", {"id": 1})[0]["status"] == "available"


# ---- saves ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("endpoint", "item", "message"),
    [
        ("resource", {"name": "lonely.txt"}, r"Missing required field\(s\) for resource: workunit"),
        ("resource", {"name": "x.txt", "workunitid": 999}, "resource.workunit: workunit 999 does not exist"),
        ("resource", {"name": "x.txt", "workunitid": 1, "storageid": 77}, "storage 77 does not exist"),
        ("resource", {"name": "x.txt", "workunitid": 1, "status": "nonsense"}, "Invalid status 'nonsense'"),
        ("workunit", {"name": "w", "containerid": 1}, r"Missing required field\(s\) for workunit: application"),
        ("workunit", {"id": 1, "status": "done"}, "Invalid status 'done' for workunit"),
        ("sample", {"name": "s", "containerid": 42}, "project/order 42 does not exist"),
        ("dataset", {"name": "d", "containerid": 1, "attribute": "oops"}, "attribute: expected a structure"),
        ("link", {"name": "l", "url": "https://a", "parentclassname": "nosuch", "parentid": 1}, "unknown class"),
        ("link", {"name": "l", "url": "https://a", "parentclassname": "Workunit", "parentid": 999},
         "Workunit 999 does not exist"),
    ],
)
def test_saves_are_checked(standin_server: StandinServer, standin_client: Bfabric, endpoint: str, item: dict,
                           message: str) -> None:
    before = row_counts(standin_server, endpoint)
    stored_before = standin_server.rows(endpoint)
    with pytest.raises(BfabricRequestError, match=message):
        standin_client.save(endpoint, item)
    assert row_counts(standin_server, endpoint) == before
    assert standin_server.rows(endpoint) == stored_before


@pytest.mark.parametrize(
    ("endpoint", "item", "inner_xml", "message"),
    [
        ("resource", {"name": "x.txt", "workunitid": 1, "colour": "red"},
         "<resource><name>x.txt</name><workunitid>1</workunitid><colour>red</colour></resource>",
         "Unknown field(s) for resource: colour."),
        ("dataset", {"name": "d", "containerid": 1, "attribute": [{"name": "A", "position": 1, "colour": "x"}]},
         "<dataset><name>d</name><containerid>1</containerid>"
         "<attribute><name>A</name><position>1</position><colour>x</colour></attribute></dataset>",
         "Unknown field(s) for dataset: attribute.colour."),
    ],
)
def test_unknown_save_fields_are_refused(standin_server: StandinServer, standin_client: Bfabric, endpoint: str,
                                         item: dict, inner_xml: str, message: str) -> None:
    stored_before = standin_server.rows(endpoint)
    with pytest.raises(TypeNotFound, match="Type not found: 'colour'"):
        standin_client.save(endpoint, item)
    assert _raw_errorreport(standin_server, endpoint, "save", inner_xml) == message
    assert standin_server.rows(endpoint) == stored_before


def test_a_structure_for_a_value_is_refused(standin_server: StandinServer) -> None:
    inner = "<sample><name><first>x</first></name><containerid>1</containerid></sample>"
    assert _raw_errorreport(standin_server, "sample", "save", inner) == (
        "Malformed sample: name: expected a value, got a structure."
    )
    assert [s["name"] for s in standin_server.rows("sample")] == ["sample_1", "sample_2", "sample_3", "sample_4"]


def test_a_batch_with_one_bad_item_stores_nothing(standin_server: StandinServer, standin_client: Bfabric) -> None:
    before = row_counts(standin_server, "resource")
    with pytest.raises(BfabricRequestError, match="workunit 999 does not exist"):
        standin_client.save("resource", [{"name": "good.txt", "workunitid": 1}, {"name": "bad.txt", "workunitid": 999}])
    assert row_counts(standin_server, "resource") == before


def test_valid_saves_pass_the_checks(standin_server: StandinServer, standin_client: Bfabric) -> None:
    saved = standin_client.save("resource", {"name": "ok.txt", "workunitid": 1, "storageid": 3, "status": "Available"})
    row = next(r for r in standin_server.rows("resource") if r["id"] == saved[0]["id"])
    assert row["status"] == "available" and ref_id(row["workunit"]) == 1
    standin_client.save("workunit", {"name": "new", "applicationid": 1, "containerid": 1, "status": "processing",
                                     "inputresourceid": [1, 2], "customattribute": [{"name": "k", "value": "v"}]})
    standin_client.save("parameter", {"key": "k", "label": "k", "value": "v", "context": "workunit", "workunitid": 1})


# ---- endpoints -----------------------------------------------------------------------------------
def test_plate_instrument_and_container_endpoints(standin_client: Bfabric) -> None:
    plate_id = standin_client.save("plate", {"name": "plate 1", "containerid": 1, "sampleid": [1, 2]})[0]["id"]
    [plate] = standin_client.read("plate", {"containerid": 1})
    assert plate["id"] == plate_id and [s["id"] for s in plate["sample"]] == [1, 2]
    instrument_id = standin_client.save("instrument", {"name": "Sequencer", "type": "NGS"})[0]["id"]
    assert standin_client.read("instrument", {"name": "Seq%"})[0]["id"] == instrument_id
    [container] = standin_client.read("container", {"id": 1})
    assert (container["classname"], container["name"]) == ("project", "Labflows demo project")
    with pytest.raises(BfabricRequestError, match="container is read only"):
        standin_client.save("container", {"name": "c"})
    with pytest.raises(BfabricRequestError, match=r"Missing required field\(s\) for plate: container"):
        standin_client.save("plate", {"name": "plate 2"})


def test_a_failure_inside_the_stand_in_is_answered_with_a_fault(standin_client: Bfabric,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from suds import WebFault

    from standin.service import Service

    def broken(*args: object, **kwargs: object) -> None:
        raise AttributeError("planted")

    monkeypatch.setattr(Service, "save", broken)
    with pytest.raises(WebFault, match="internal error of the stand-in"):
        standin_client.save("sample", {"name": "s", "containerid": 1})
